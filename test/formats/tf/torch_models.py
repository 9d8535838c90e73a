"""The torch modules equivalent to the real TensorFlow fixtures' Keras models, named so that
keras2torch's output loads into them with strict=True. Shared by the tests' Python scripts, which
run it first (keras_reference.py, the optimizer-state check)."""
import torch
from torch import nn

NAMES = ["", "_1", "_2", "_3", "_4", "_5"]
CHANS = [3, 16, 16, 32, 32, 64, 64]


class LstmModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm_5 = nn.LSTM(1, 64, batch_first=True)
        self.dense_15, self.dense_16, self.dense_17 = nn.Linear(64, 32), nn.Linear(32, 32), nn.Linear(32, 1)

    def forward(self, x):
        out, _ = self.lstm_5(x)
        return self.dense_17(torch.relu(self.dense_16(torch.relu(self.dense_15(out[:, -1])))))


class BiLstmHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.bidirectional_6 = nn.LSTM(3, 64, batch_first=True, bidirectional=True)
        self.dense_12, self.dense_13 = nn.Linear(128, 32), nn.Linear(32, 1)

    def forward(self, x):
        # Keras Bidirectional(LSTM(64)) returns both directions' final states, concatenated.
        _, (h, _) = self.bidirectional_6(x)
        return self.dense_13(torch.relu(self.dense_12(torch.cat([h[0], h[1]], dim=1))))


class EmbeddingBiLstmModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10000, 16)
        self.bidirectional = nn.LSTM(16, 32, batch_first=True, bidirectional=True)
        self.dense, self.dense_1 = nn.Linear(64, 10), nn.Linear(10, 1)

    def forward(self, tokens):
        _, (h, _) = self.bidirectional(self.embedding(tokens))
        return self.dense_1(torch.relu(self.dense(torch.cat([h[0], h[1]], dim=1))))


class BiLstmModel(nn.Module):
    # The Keras 3 export names its variables sequential_6/bidirectional_6/... (one level deeper).
    def __init__(self):
        super().__init__()
        self.sequential_6 = BiLstmHead()

    def forward(self, x):
        return self.sequential_6(x)


class CnnModel(nn.Module):
    def __init__(self):
        super().__init__()
        for i, s in enumerate(NAMES):
            setattr(self, "conv2d" + s, nn.Conv2d(CHANS[i], CHANS[i + 1], 3))
            setattr(self, "batch_normalization" + s, nn.BatchNorm2d(CHANS[i + 1], eps=1e-3))
        self.dense = nn.Linear(64, 1)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        for i, s in enumerate(NAMES):
            x = getattr(self, "batch_normalization" + s)(torch.relu(getattr(self, "conv2d" + s)(x)))
            if i % 2 == 1:
                x = nn.functional.max_pool2d(x, 2)
        return self.dense(x.mean(dim=(2, 3)))


class Conv1dModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1d, self.conv1d_1 = nn.Conv1d(1, 128, 3), nn.Conv1d(128, 32, 3)
        self.dense, self.dense_1 = nn.Linear(320, 10), nn.Linear(10, 3)

    def forward(self, x):
        x = x.permute(0, 2, 1)
        x = nn.functional.max_pool1d(torch.relu(self.conv1d(x)), 2)
        x = nn.functional.max_pool1d(torch.relu(self.conv1d_1(x)), 2)
        return self.dense_1(torch.relu(self.dense(torch.flatten(x, 1))))


class MlpModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense_4, self.dense_5 = nn.Linear(784, 512), nn.Linear(512, 10)

    def forward(self, x):
        return self.dense_5(torch.relu(self.dense_4(x)))
