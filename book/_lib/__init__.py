"""The book layer: what the chapters show, beside the chapters that show it.

``msvp`` ships the experiment (method, numerics, runner, evidence); everything here only presents
it: one names table (``names``), the wording (``words``), the figures (``figures``), one view of a
profile's results (``view``) and one way to write a chapter (``chapter.Page``), with a module per
page. Nothing here trains: a chapter that re-trains calls ``msvp.grid.run_grid`` in its own cell.
``msvp`` never imports this package.
"""
