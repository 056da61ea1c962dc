"""The ELF structure of a file: headers, sections, segments, dynamic tags, symbols."""
