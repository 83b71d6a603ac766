"""The main window's widgets; each reads `app.state.AppState` and changes it only through commands."""
