"""Reports for people and machines: renderers of library results (alerts) as JSON, Markdown
and HTML, and the writing of them to files."""
