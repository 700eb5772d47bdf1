"""Use cases: small functions handed what they need (a session, the actor, plain values)."""
