"""The main window's widgets: each shows what a controller gives it and reports the user's requests as signals."""
