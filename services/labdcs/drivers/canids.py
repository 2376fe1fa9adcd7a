"""CAN node addressing shared by the CAN drivers and their configuration (no python-can import:
a configuration is checked without loading the CAN stack)."""

#: The node-id occupies the low 6 bits of the 11-bit frame id; 0 is reserved.
NODE_ID_BITS = 6
NODE_ID_MASK = (1 << NODE_ID_BITS) - 1
