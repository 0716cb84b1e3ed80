"""Live updates over Socket.IO: publish.py is the only module that emits."""
