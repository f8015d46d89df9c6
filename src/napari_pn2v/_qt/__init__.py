"""Every Qt class of the plugin lives here; the rest of the package is Qt-free."""
