"""podkeeper-client: talk to a podkeeper daemon, and run Python functions and classes in its pods.

    from podkeeper_client import remote

    @remote(dependencies=["numpy"])
    def total(values):
        import numpy
        return float(numpy.sum(values))

    total([1, 2, 3])            # runs in the daemon's `python-exec` pod; 6.0

`Podkeeper(socket=...)` is the connection (any action of the control protocol); `RemoteClass` keeps
an instance alive in the pod across calls and clients.
"""

from .classes import RemoteClass
from .connection import Podkeeper
from .errors import InstanceLostWarning, PodkeeperError, RemoteError, RemoteTraceback
from .functions import RemoteFunction
from .location import default_home, default_socket
from .remote import remote

__all__ = [
    "InstanceLostWarning",
    "Podkeeper",
    "PodkeeperError",
    "RemoteClass",
    "RemoteError",
    "RemoteFunction",
    "RemoteTraceback",
    "default_home",
    "default_socket",
    "remote",
]
__version__ = "0.1.0"
