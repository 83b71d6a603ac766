"""Training from the GUI: the launch dialog, the live run monitor and the runs table.

A run is always a subprocess of the ``cmnet`` CLI (``cmnet loso`` / ``cmnet train``) with ``--progress jsonl``;
the GUI reads its JSON lines and never trains on its own threads. The Qt-free parts (the request and its
command line, the JSON-lines reader and progress model, the process handle, the export of the app's
annotations) can be used and tested without a display.
"""
