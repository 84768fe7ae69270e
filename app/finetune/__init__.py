"""Run → Finetune: export the project, train in a separate process, watch its curves, load the result.

The trainer is only ever started as a child process (``python -m trainer``): a crash or an out-of-memory in
training ends that process, never the app, and the app never imports the trainer's code.
"""
