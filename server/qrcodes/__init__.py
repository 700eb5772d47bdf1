"""QR codes posted at enterprises: signed payloads and printable posters."""
