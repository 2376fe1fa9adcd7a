"""Node-RED as part of the stack: the provisioned flows (``nodered/``) and how to run Node-RED."""
