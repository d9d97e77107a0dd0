"""The paper's small CNN: four double-conv blocks (32-64-128-256) and an MLP head."""
from __future__ import annotations

import torch
from torch import nn


def conv_block(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    layers = []
    for c in (c_in, c_out):
        layers += [nn.Conv2d(c, c_out, 3, padding=1, bias=True), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class SimpleCNN(nn.Module):
    """Input (B, C, H, W) -> logits (B, num_classes). 1,207,786 parameters at C=1, 10 classes."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, widths=(32, 64, 128, 256),
                 dropout: tuple[float, float] = (0.5, 0.3)):
        super().__init__()
        chans = (in_channels,) + tuple(widths)
        self.features = nn.Sequential(*[
            conv_block(chans[i], chans[i + 1], pool=i < len(widths) - 1) for i in range(len(widths))
        ])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = widths[-1]
        self.head = nn.Sequential(
            nn.Dropout(dropout[0]), nn.Linear(widths[-1], 128), nn.ReLU(inplace=True),
            nn.Dropout(dropout[1]), nn.Linear(128, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)

    def forward_head(self, f: torch.Tensor) -> torch.Tensor:
        return self.head(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def cam_layer(self) -> nn.Module:
        """The layer Grad-CAM looks at: the last conv block."""
        return self.features[-1]
