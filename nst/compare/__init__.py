"""The same style transfer in TensorFlow and in PyTorch, compared: python -m nst.compare.

torch_reference.py is the pipeline in PyTorch, comparison.py runs both and measures how far apart
they end, report.py writes compare.json and compare.png, __main__.py is the command.
"""
