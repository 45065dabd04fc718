"""Text (pure): Unicode helpers the rest of the pipeline shares.

normalize.py folds case and Unicode forms, splits words and turns feed HTML into
paragraphs; analyzer.py turns text into the words the index stores and looks up (the one
place a language's morphology will go); summary.py cuts a story's body into a clean
summary.
"""
