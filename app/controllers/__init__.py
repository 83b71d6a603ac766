"""The main window's controllers: each holds the widgets and document it needs and reacts to one part of the
document or of the user's actions.

| module | job |
| --- | --- |
| `tasks` | worker tasks of the window (start, forget, cancel, wait) and `run_blocking` with a progress dialog |
| `files` | opening documents, recent files, clip selection, the demo |
| `playback` | play / pause at the clip's own times and the chosen speed |
| `viewer` | the frame view, timeline and frame label for the current frame; the frame-rate field; the overlay |
| `annotation` | the annotation panel, marks on timeline and plot, title, autosave |
| `prediction` | checkpoint loading, prediction, cancel, device; showing the prediction |
| `batch` | batch prediction of several clips in one worker task; the results table; showing a row's clip |

Training has its own controller, `app.training.manager.TrainingManager`.
"""
