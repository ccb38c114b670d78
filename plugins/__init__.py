"""Built-in model plugins, registered through the ``protein_zoo`` entry points like anyone's."""
