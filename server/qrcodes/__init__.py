"""QR codes posted at enterprises: signing and checking their payloads (the printable posters are documents:
server/documents/posters.py)."""
