"""ViT-Tiny (embed 192, depth 12, heads 3): pre-norm blocks, cls token, learned position embedding."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)
        self.last_attn = None  # (B, heads, N, N) when record_attention is set, for attention maps
        self.record_attention = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if self.record_attention:  # explicit softmax only when someone wants to look at it
            attn = (q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5).softmax(dim=-1)
            self.last_attn = attn.detach()
            out = attn @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, d)))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTTiny(nn.Module):
    """Input (B, C, S, S) -> logits. Patch 7 at 28 px (16 patches), 4 at 32 px (64 patches)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, image_size: int = 32, patch_size: int | None = None,
                 dim: int = 192, depth: int = 12, heads: int = 3, mlp_ratio: float = 4.0, dropout: float = 0.1):
        super().__init__()
        patch_size = patch_size or (7 if image_size == 28 else 4)
        if image_size % patch_size:
            raise ValueError(f"image size {image_size} is not divisible by patch size {patch_size}")
        self.grid = image_size // patch_size
        self.patch_embed = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid ** 2 + 1, dim))
        self.pos_drop = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio, dropout) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.num_features = dim
        self.head = nn.Linear(dim, num_classes)
        # the official initialisation (salimkhazem/msvp msvp/models/vit.py): every other Linear
        # keeps PyTorch's default, the head is N(0, 0.02), the patch conv Kaiming-normal
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.kaiming_normal_(self.patch_embed.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.patch_embed.bias)
        nn.init.normal_(self.head.weight, 0, 0.02)
        nn.init.zeros_(self.head.bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Patch tokens plus cls token plus position embedding, (B, 1 + grid^2, dim)."""
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.pos_embed

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.pos_drop(self.embed(x)))
        return self.norm(x)[:, 0]

    def forward_head(self, f: torch.Tensor) -> torch.Tensor:
        return self.head(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
