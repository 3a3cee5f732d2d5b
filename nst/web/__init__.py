"""The local web page (web_main.py): upload, tune, watch the image being painted, stop, download.

config.py holds the server's settings; server.py serves the page safely (security.py: the Host and
Origin checks, refused routes, headers, the password); page.py builds it with Gradio; form.py turns
its settings into a StyleTransferConfig and texts.py words what it shows; sessions.py keeps each
browser tab's folder, uploads and cleanup, and uploads.py reads what a tab uploaded; painting.py
runs one style transfer at a time through nst.runs; feedforward.py serves the Fast tab; memory.py
keeps a long-lived server's memory flat.
"""
