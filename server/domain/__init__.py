"""Pure domain rules (stdlib only): credit codes, sectors, applicability, hazards, 清零, geometry."""
