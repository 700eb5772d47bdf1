"""执法文书：现场检查记录与责令限期整改指令书 / Enforcement documents printed from a submitted inspection.

``records`` gathers what a document says (plain dataclasses, read from the review data and the blob store);
``pdf`` lays it out with fpdf2; ``fonts`` makes the Chinese font each PDF embeds; ``verify`` checks a printed
document's hash against the stored, device-sealed record; ``posters`` prints the enterprises' QR posters.
"""
