"""Built-in task adapters, registered through the ``protein_zoo`` entry points like anyone's."""
