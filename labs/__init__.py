"""One UI-free module per page, named like its view in views/: the numbers a page shows
(torch + core, never streamlit)."""
