"""The three backbones of the paper, registered by name."""
from .cnn import SimpleCNN
from .resnet import ResNet18
from .vit import ViTTiny

BACKBONES = {"cnn": SimpleCNN, "resnet18": ResNet18, "vit": ViTTiny}
