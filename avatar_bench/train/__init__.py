"""Self-supervised training (needs the ``models`` extra): recipes plug into one trainer."""
