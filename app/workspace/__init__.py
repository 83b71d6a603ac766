"""The app's logic without Qt: the open document and what can be done to it, over `cmnet_core` objects.

| module | job |
| --- | --- |
| `document` | the document (source, clips, current clip/frame, store, prediction, predictor) and its events |
| `opening` | open a video / frame folder / database root as clips (runs in a worker) |
| `annotations` | the annotation store of a source: where it lives, load, save, autosave, recovery |
| `editing` | annotation edits and CSV import as plain data (what the undo stack pushes) |
| `prediction` | checkpoint loading, prediction, face detection glue; label / emotion mismatch messages |
| `batch` | batch prediction: which clips, the per-clip rows (as `cmnet predict` writes them), CSV export |
| `timing` | how shown times were obtained; re-timing a bare frame folder |
| `memory` | per-folder memories (frame rate, annotation sheet) as functions over a dict |
| `texts` | the title, file status, summaries and banners the window shows |

Nothing here imports PySide6, pyqtgraph or the rest of `app` (an import-linter contract checks it).
"""
