"""Sphinx + MyST-NB configuration of the course website (`make book`).

tools/build_book.py copies this folder and the executed lectures into build/book-src/ and
runs sphinx-build; notebooks are never executed here (they come executed).
"""

project = "Deep learning for sequences"
author = "seqcourse"
copyright = "seqcourse authors"
extensions = ["myst_nb", "sphinx.ext.mathjax"]
nb_execution_mode = "off"  # the lectures come executed (tests/notebook_runs.py)
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True  # $$...$$ inside a paragraph, as JupyterLab renders it
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_theme_options = {"show_toc_level": 2, "use_download_button": True}
# MathJax from the installed jupyter-server-mathjax package, copied into _static/: the site
# works offline and from file://, with no CDN.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
# The package ships the STIX-Web fonts only.
mathjax2_config = {
    "tex2jax": {"processEscapes": True, "processClass": "tex2jax_process|mathjax_process|math|output_area"},
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None},
}
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]
