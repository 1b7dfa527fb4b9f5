"""MNIST: reading the IDX .gz files, clear errors for bad files, downloading (datasets.mnist_files).

The download is tested for real against a small HTTP server on 127.0.0.1 that serves
the committed MNIST test-split files (datasets/mnist; no internet needed).
"""

import gzip
import errno
import hashlib
import http.server
import os
import struct
import threading
import time

import pytest
import torch

import core.data as data
from datasets import mnist_files
from datasets.mnist_files import (MnistCorruptError, MnistDownloadError, MnistError, MnistNotFoundError,
                                  download_mnist, find_mnist_dir, load_mnist, mnist_available)

EMBEDDED = mnist_files.EMBEDDED_MNIST_DIR        # the committed test split: always part of the repository
IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


@pytest.fixture
def nowhere(monkeypatch, tmp_path):
    """No MNIST anywhere except where a test puts it."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(mnist_files, "PROJECT_MNIST_DIR", tmp_path / "project-data-mnist")
    monkeypatch.setattr(mnist_files, "EMBEDDED_MNIST_DIR", tmp_path / "embedded-mnist")


# ---------------------------------------------------------------- loading


def test_load_real_test_split(mnist_dir):
    X, y = load_mnist("test")
    assert X.shape == (10000, 784) and X.dtype == torch.float32
    assert y.shape == (10000,) and y.dtype == torch.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert sorted(y.unique().tolist()) == list(range(10))
    assert torch.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y[:5].tolist() == [7, 2, 1, 0, 4]            # the famous first test digits
    assert 0.1 < X.mean() < 0.15                        # mostly black background
    assert find_mnist_dir("test") == mnist_dir and mnist_available("test")


def test_embedded_test_split_is_the_real_one_byte_for_byte():
    for name in (IMAGES, LABELS):
        assert hashlib.md5((EMBEDDED / name).read_bytes()).hexdigest() == mnist_files.MNIST_MD5[name]
    assert "CC BY-SA 3.0" in (EMBEDDED / "README.md").read_text()


def test_without_env_or_download_the_embedded_split_is_found(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(mnist_files, "PROJECT_MNIST_DIR", tmp_path / "no-download-here")
    assert find_mnist_dir("test") == EMBEDDED and not mnist_available("train")
    X, y = mnist_files.load_mnist_pixels("test")
    assert X.shape == (10000, 784) and y[:5].tolist() == [7, 2, 1, 0, 4]
    X_train, y_train, X_test, y_test, source = mnist_files.mnist_train_test()
    assert (len(X_train), len(X_test)) == (8000, 2000) and "test split only" in source
    assert torch.equal(X_test, mnist_files.load_mnist("test")[0][-2000:])     # the last 2,000 are held out


def test_lookup_order_root_env_download_then_embedded(monkeypatch, tmp_path):
    root, env, download = (tmp_path / n for n in ("root", "env", "download"))
    for folder, n in ((root, 1), (env, 2), (download, 3)):
        folder.mkdir()
        _write_idx_pair(folder, n=n)
    monkeypatch.setattr(mnist_files, "PROJECT_MNIST_DIR", download)
    monkeypatch.setenv("MNIST_DIR", str(env))
    assert mnist_files.mnist_search_dirs(root) == [root, env, download, EMBEDDED]
    assert len(load_mnist("test", root=root)[1]) == 1
    assert len(load_mnist("test")[1]) == 2                      # $MNIST_DIR is honoured
    monkeypatch.delenv("MNIST_DIR")
    assert len(load_mnist("test")[1]) == 3                      # then the downloaded data/mnist
    monkeypatch.setattr(mnist_files, "PROJECT_MNIST_DIR", tmp_path / "empty")
    assert len(load_mnist("test")[1]) == 10000                  # then the committed split


def test_load_mnist_is_to_float_of_the_uint8_pixels(mnist_dir):
    P, y8 = mnist_files.load_mnist_pixels("test")
    X, y = load_mnist("test")
    assert P.shape == (10000, 784) and P.dtype == torch.uint8 and y8.dtype == torch.int64
    assert torch.equal(data.to_float(P), X) and torch.equal(y8, y)      # bit for bit
    assert torch.equal(X, P.float() / 255.0)                            # the arithmetic load_mnist always used
    assert int(P.max()) == 255 and int(P.min()) == 0
    values = torch.arange(256).to(torch.uint8)
    assert torch.equal(data.to_float(values), torch.arange(256).float() / 255.0)


def test_uint8_pixels_become_float_one_batch_at_a_time(mnist_dir):
    P, _ = mnist_files.load_mnist_pixels("test")
    X, y = load_mnist("test")
    idx = torch.tensor([5, 0, 9999, 5])
    assert torch.equal(data.as_float(P[idx]), X[idx]) and torch.equal(data.as_float(P[100:300]), X[100:300])
    assert data.as_float(P[idx]).dtype == torch.float32
    assert data.as_float(X) is X   # floats pass through untouched
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for (pb, pyb), (xb, xyb) in zip(data.batches(P, y, 64, generator=g1), data.batches(X, y, 64, generator=g2)):
        assert pb.dtype == torch.float32 and torch.equal(pb, xb) and torch.equal(pyb, xyb)


def test_pixels_of_small_files_are_the_bytes(nowhere, tmp_path):
    _write_idx_pair(tmp_path, n=4)
    P, y = mnist_files.load_mnist_pixels("test", root=tmp_path)
    assert P.dtype == torch.uint8 and P.shape == (4, 784) and y.tolist() == [0, 1, 2, 3]
    assert P.flatten().tolist() == [(i * 7) % 256 for i in range(4 * 784)]
    with pytest.raises(MnistNotFoundError):
        mnist_files.load_mnist_pixels("train", root=tmp_path)


def test_root_argument_wins_over_env(mnist_dir, tmp_path):
    _write_idx_pair(tmp_path, n=3)
    X, y = load_mnist("test", root=tmp_path)
    assert X.shape == (3, 784) and y.tolist() == [0, 1, 2]


def test_missing_files_error_says_where_and_how(nowhere, tmp_path):
    assert not mnist_available("train", root=tmp_path)
    assert find_mnist_dir("train", root=tmp_path) is None
    with pytest.raises(MnistNotFoundError) as err:
        load_mnist("train", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and "project-data-mnist" in msg
    assert "train-images-idx3-ubyte.gz" in msg and "python -m datasets.mnist_files download" in msg
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, MnistError)


def test_bad_split_name():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")


def _idx_images(n, rows=28, cols=28, magic=2051):
    pixels = bytes((i * 7) % 256 for i in range(n * rows * cols))
    return struct.pack(">iiii", magic, n, rows, cols) + pixels


def _idx_labels(n, magic=2049):
    return struct.pack(">ii", magic, n) + bytes(i % 10 for i in range(n))


def _write_idx_pair(folder, n=3, images=None, labels=None):
    (folder / IMAGES).write_bytes(gzip.compress(images if images is not None else _idx_images(n)))
    (folder / LABELS).write_bytes(gzip.compress(labels if labels is not None else _idx_labels(n)))


def test_small_valid_files_parse_exactly(nowhere, tmp_path):
    _write_idx_pair(tmp_path, n=4)
    X, y = load_mnist("test", root=tmp_path)
    assert y.tolist() == [0, 1, 2, 3]
    assert X[0, 1].item() == pytest.approx(7 / 255) and X[1, 0].item() == pytest.approx((784 * 7 % 256) / 255)


def test_truncated_gzip(nowhere, tmp_path):
    _write_idx_pair(tmp_path)
    whole = (EMBEDDED / IMAGES).read_bytes()
    (tmp_path / IMAGES).write_bytes(whole[: len(whole) // 2])
    with pytest.raises(MnistCorruptError, match=r"not a readable gzip file.*truncated.*download"):
        load_mnist("test", root=tmp_path)


def test_not_gzip_at_all(nowhere, tmp_path):
    _write_idx_pair(tmp_path)
    (tmp_path / LABELS).write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(MnistCorruptError, match=LABELS):
        load_mnist("test", root=tmp_path)


def test_wrong_magic(nowhere, tmp_path):
    _write_idx_pair(tmp_path, images=_idx_labels(3))          # labels where images belong
    with pytest.raises(MnistCorruptError, match="magic number 2049, expected 2051"):
        load_mnist("test", root=tmp_path)
    _write_idx_pair(tmp_path, labels=_idx_images(3))
    with pytest.raises(MnistCorruptError, match="magic number 2051, expected 2049"):
        load_mnist("test", root=tmp_path)


def test_payload_shorter_than_header_promises(nowhere, tmp_path):
    _write_idx_pair(tmp_path, images=_idx_images(3)[:-100])
    with pytest.raises(MnistCorruptError, match=r"3 x 28 x 28 = 2352 bytes of images but holds 2252"):
        load_mnist("test", root=tmp_path)


def test_image_and_label_counts_differ(nowhere, tmp_path):
    _write_idx_pair(tmp_path, images=_idx_images(5), labels=_idx_labels(4))
    with pytest.raises(MnistCorruptError, match="5 images but .* 4 labels"):
        load_mnist("test", root=tmp_path)


def test_wrong_image_size_and_bad_label(nowhere, tmp_path):
    _write_idx_pair(tmp_path, images=_idx_images(2, rows=10, cols=10), labels=_idx_labels(2))
    with pytest.raises(MnistCorruptError, match="10x10 images"):
        load_mnist("test", root=tmp_path)
    _write_idx_pair(tmp_path, labels=struct.pack(">ii", 2049, 3) + bytes([1, 2, 200]))
    with pytest.raises(MnistCorruptError, match="label 200"):
        load_mnist("test", root=tmp_path)


# ---------------------------------------------------------------- downloading


class _Server:
    """Serves self.files {name: bytes} on 127.0.0.1; names in self.drop get cut half-way.

    self.bad[name] makes a bad mirror of that file: "trickle" sends one byte every 0.2 s forever,
    "silent" sends the headers and then nothing, "endless" streams zeros forever without a
    Content-Length, "huge" announces 10 GB; self.sent[name] counts the body bytes written.
    """

    def __init__(self):
        self.files, self.drop, self.requests = {}, set(), []
        self.bad, self.sent, self.stopping = {}, {}, threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def bad_mirror(self, name, how):
                self.send_response(200)
                if how in ("trickle", "silent"):
                    self.send_header("Content-Length", str(mnist_files.MNIST_BYTES[name]))
                if how == "huge":
                    self.send_header("Content-Length", str(10 ** 10))
                self.end_headers()
                self.wfile.flush()
                step, pause = {"trickle": (b"\x1f", 0.2), "silent": (b"", 0.05),
                               "endless": (bytes(1 << 16), 0.0), "huge": (bytes(1 << 16), 0.0)}[how]
                try:
                    while not server.stopping.is_set():
                        self.wfile.write(step)
                        self.wfile.flush()
                        server.sent[name] = server.sent.get(name, 0) + len(step)
                        server.stopping.wait(pause)
                except OSError:          # the client hung up: what a good download does here
                    pass
                self.close_connection = True

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                server.requests.append(self.path)
                if name in server.bad:
                    self.bad_mirror(name, server.bad[name])
                    return
                body = server.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in server.drop:          # promise everything, send half, hang up
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    for name in (IMAGES, LABELS):
        s.files[name] = (EMBEDDED / name).read_bytes()
    yield s
    s.close()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_checksum_ok_then_loadable(server, nowhere, tmp_path):
    target = tmp_path / "dl"
    calls = []
    out = download_mnist(target, splits="test", base_url=server.url, timeout=5,
                         progress=lambda f, m: calls.append((f, m)))
    assert out == target
    assert _leftovers(target) == [IMAGES, LABELS]                # no temp files
    for name in (IMAGES, LABELS):
        assert hashlib.md5((target / name).read_bytes()).hexdigest() == mnist_files.MNIST_MD5[name]
    X, y = load_mnist("test", root=target)
    assert X.shape == (10000, 784) and sorted(y.unique().tolist()) == list(range(10))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 <= fractions[0] < 1
    assert len(server.requests) == 2
    # second call: files present with the right md5 -> nothing fetched
    download_mnist(target, splits="test", base_url=server.url, timeout=5)
    assert len(server.requests) == 2


def test_download_wrong_checksum_leaves_nothing(server, tmp_path):
    body = bytearray(server.files[LABELS])
    body[100] ^= 0xFF                                            # one byte damaged
    server.files[LABELS] = bytes(body)
    target = tmp_path / "dl"
    with pytest.raises(MnistDownloadError) as err:
        download_mnist(target, splits="test", base_url=server.url, timeout=5)
    msg = str(err.value)
    assert "checksum mismatch" in msg and LABELS in msg and mnist_files.MNIST_MD5[LABELS] in msg
    assert _leftovers(target) == [IMAGES]                        # the good file stays, no temp file


def test_download_connection_dropped_half_way(server, tmp_path):
    server.drop.add(IMAGES)
    target = tmp_path / "dl"
    with pytest.raises(MnistDownloadError) as err:
        download_mnist(target, splits="test", base_url=server.url, timeout=5)
    assert "connection closed after 824,438 of 1,648,877 bytes" in str(err.value)
    assert _leftovers(target) == []                              # no partial file


def test_download_replaces_damaged_existing_file(server, tmp_path):
    target = tmp_path / "dl"
    target.mkdir()
    (target / IMAGES).write_bytes(b"half a file")
    download_mnist(target, splits="test", base_url=server.url, timeout=5)
    assert hashlib.md5((target / IMAGES).read_bytes()).hexdigest() == mnist_files.MNIST_MD5[IMAGES]


def test_download_falls_back_to_next_mirror(server, tmp_path):
    broken = server.url.replace("/mnist/", "/gone/")
    server.files.pop(IMAGES)
    good = _Server()
    good.files[IMAGES] = (EMBEDDED / IMAGES).read_bytes()
    try:
        download_mnist(tmp_path, splits="test", base_url=[broken, good.url], timeout=5)
    finally:
        good.close()
    assert _leftovers(tmp_path) == [IMAGES, LABELS]
    assert any("gone" in r for r in server.requests)


def test_download_no_network_message(tmp_path):
    s = _Server()
    url = s.url
    s.close()                                                    # nothing listens there now
    with pytest.raises(MnistDownloadError) as err:
        download_mnist(tmp_path / "dl", splits="test", base_url=url, timeout=5)
    msg = str(err.value)
    assert "cannot connect" in msg and "internet connection" in msg and "MNIST_DIR" in msg
    assert _leftovers(tmp_path / "dl") == []


def test_download_unwritable_folder(server, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(MnistDownloadError, match="cannot write to .*a-file"):
        download_mnist(blocker / "mnist", splits="test", base_url=server.url, timeout=5)
    assert server.requests == []


@pytest.mark.parametrize("how", ["trickle", "silent"])
def test_download_from_a_stalled_mirror_stops_at_the_deadline(server, tmp_path, how):
    """1 byte every 0.2 s (each read well inside the 30 s timeout) or nothing at all: stopped at the deadline."""
    server.bad[IMAGES] = how
    target = tmp_path / "dl"
    start = time.monotonic()
    with pytest.raises(MnistDownloadError) as err:
        download_mnist(target, splits="test", base_url=server.url, timeout=30, deadline=1.5)
    took = time.monotonic() - start
    assert 1.4 < took < 3.0, f"stopped after {took:.2f} s, the deadline was 1.5 s"
    msg = str(err.value)
    assert "1.5 s time limit" in msg and "too slowly" in msg and IMAGES in msg
    assert "internet connection" not in msg
    assert _leftovers(target) == []                              # no partial file


@pytest.mark.parametrize("how", ["endless", "huge"])
def test_download_from_an_endless_mirror_stops_at_the_file_size(server, tmp_path, how):
    """A stream that never ends (or announces 10 GB) is cut off at the file's known size, not the disk's."""
    server.bad[IMAGES] = how
    target = tmp_path / "dl"
    with pytest.raises(MnistDownloadError) as err:
        download_mnist(target, splits="test", base_url=server.url, timeout=5, deadline=60)
    msg = str(err.value)
    size = f"{mnist_files.MNIST_BYTES[IMAGES]:,}"
    if how == "endless":
        assert f"sent more than the {size} bytes the file has" in msg
    else:
        assert f"offers 10,000,000,000 bytes, but the file has {size}" in msg
    assert _leftovers(target) == []                              # nothing corrupt or partial kept
    assert not any(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())


def test_download_onto_a_full_disk_says_the_disk_is_full(server, tmp_path, monkeypatch):
    real_fdopen = os.fdopen

    class FullDisk:
        """The temporary file of a download on a disk with no space left: every write fails."""
        def __init__(self, f):
            self.f = f

        def write(self, chunk):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(mnist_files.os, "fdopen", lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k)))
    target = tmp_path / "dl"
    with pytest.raises(mnist_files.MnistDiskFullError) as err:
        download_mnist(target, splits="test", base_url=[server.url, server.url], timeout=5)
    msg = str(err.value)
    assert msg.startswith("the disk is full") and "Free some space" in msg and IMAGES in msg
    assert "internet" not in msg
    assert len(server.requests) == 1                             # no second mirror: it would not help
    monkeypatch.undo()
    assert _leftovers(target) == []
