"""Import path of the 2017 README: ``from cacofonisk.channel import ChannelManager, Channel``."""
from .fsm.channel import Channel
from .manager import ChannelManager

__all__ = ["Channel", "ChannelManager"]
