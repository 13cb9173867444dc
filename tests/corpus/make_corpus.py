"""Builders for test scans, and the small nasty-file corpus in this folder.

Run ``python -m tests.corpus.make_corpus`` from the repository root to
regenerate the corpus files (deterministic). Large cases (decompression bombs,
1,000-frame volumes) are not stored: the tests build them in tmp_path with the
functions below.
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian

CORPUS = Path(__file__).resolve().parent
OPT_SOP = "1.2.840.10008.5.1.4.1.1.77.1.5.4"
SECONDARY_CAPTURE_SOP = "1.2.840.10008.5.1.4.1.1.7"


def noise_image(h: int = 48, w: int = 64, seed: int = 0, dtype=np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top, (h, w), endpoint=True).astype(dtype)


def image_bytes(array: np.ndarray, fmt: str, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **save)
    return buf.getvalue()


def dicom_dataset(pixels: np.ndarray, *, photometric: str = "MONOCHROME2", bits_stored=None,
                  signed: bool = False, sop: str = OPT_SOP, transfer_syntax: str = ExplicitVRLittleEndian,
                  multiframe: bool | None = None, **tags) -> Dataset:
    """A minimal valid DICOM dataset holding ``pixels`` (H, W), (F, H, W) or (.., 3)."""
    pixels = np.asarray(pixels)
    colour = photometric in ("RGB", "YBR_FULL")
    frames = pixels.shape[0] if pixels.ndim == (4 if colour else 3) else 1
    rows, cols = pixels.shape[-3:-1] if colour else pixels.shape[-2:]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    meta.TransferSyntaxUID = UID(transfer_syntax)
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop, meta.MediaStorageSOPInstanceUID
    ds.Modality = "OPT"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "DOE^JANE", "ID-12345", "19500101"
    ds.Rows, ds.Columns = int(rows), int(cols)
    if multiframe if multiframe is not None else frames > 1:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = photometric
    if colour:
        ds.PlanarConfiguration = 0
    if pixels.dtype.kind == "f":
        ds.BitsAllocated = pixels.dtype.itemsize * 8
        ds.FloatPixelData = pixels.astype("<f4").tobytes()
    else:
        bits = pixels.dtype.itemsize * 8
        ds.BitsAllocated = bits
        ds.BitsStored = bits_stored or bits
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if signed else 0
        ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    for key, value in tags.items():
        setattr(ds, key, value)
    return ds


def dicom_bytes(ds: Dataset, preamble: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    ds.preamble = preamble if preamble is not None else b"\x00" * 128
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims width x height 8-bit grey pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))  # one row; decoding the rest would be the bomb
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_deflate_bomb(width: int, height: int) -> bytes:
    """A real, complete PNG of zeros: ~1000:1 compression, so ~100 kB for 100 MP."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def nested_sequence_dicom(depth: int = 1000) -> bytes:
    """Valid 8x8 pixels behind a sequence nested ``depth`` levels deep
    (explicit VR little endian, undefined lengths)."""
    ds = dicom_dataset(noise_image(8, 8, seed=5))
    base = dicom_bytes(ds)
    # Splice the nested sequence in right before Pixel Data (7FE0,0010) to keep tag order.
    at = base.rindex(b"\xe0\x7f\x10\x00")
    sq_open = struct.pack("<HH2sHI", 0x0040, 0x0275, b"SQ", 0, 0xFFFFFFFF)
    item_open = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_close = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    sq_close = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    nested = (sq_open + item_open) * depth + (item_close + sq_close) * depth
    return base[:at] + nested + base[at:]


def dicomdir_bytes() -> bytes:
    """A DICOMDIR whose one record points outside its folder (must never be followed)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.FileSetID = "NASTY"
    ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
    ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
    ds.FileSetConsistencyFlag = 0
    record = Dataset()
    record.OffsetOfTheNextDirectoryRecord = 0
    record.RecordInUseFlag = 0xFFFF
    record.OffsetOfReferencedLowerLevelDirectoryEntity = 0
    record.DirectoryRecordType = "IMAGE"
    record.ReferencedFileID = ["..", "..", "etc", "passwd"]
    ds.DirectoryRecordSequence = Sequence([record])
    return dicom_bytes(ds)


PREAMBLE_MARKER = "/tmp/octguard-preamble-was-executed"


def executable_preamble() -> bytes:
    """128 bytes that start like a Windows executable and hold a shell script."""
    script = f"\n#!/bin/sh\ntouch {PREAMBLE_MARKER}\n".encode()
    pe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode."
    return (pe + script).ljust(128, b"\x00")[:128]


def tiff_bytes(pages: list[np.ndarray]) -> bytes:
    buf = io.BytesIO()
    ims = [Image.fromarray(p) for p in pages]
    ims[0].save(buf, format="TIFF", save_all=True, append_images=ims[1:])
    return buf.getvalue()


def heyex_xml(exam_url: str) -> bytes:
    """A minimal Heidelberg XML export naming one B-scan file."""
    return ("<?xml version='1.0' encoding='UTF-8'?>\n<HEDX><BODY><Patient><Study><Series>"
            "<Image><ImageType><Type>OCT</Type></ImageType><OphthalmicAcquisitionContext>"
            "<Width>8</Width><Height>8</Height></OphthalmicAcquisitionContext>"
            f"<ImageData><ExamURL>{exam_url}</ExamURL></ImageData></Image>"
            "</Series></Study></Patient></BODY></HEDX>\n").encode()


def corpus_files() -> dict[str, bytes]:
    """name -> bytes for every stored nasty file."""
    jpeg = image_bytes(noise_image(64, 64, seed=1), "JPEG", quality=90)
    png = image_bytes(noise_image(64, 64, seed=2), "PNG")
    corrupt = bytearray(png)
    idat = png.index(b"IDAT") + 4
    for i in range(idat + 20, idat + 60):
        corrupt[i] ^= 0xA5
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("scan.dcm", date_time=(2000, 1, 1, 0, 0, 0)), b"not really")
    ok8 = noise_image(16, 16, seed=3)

    no_pixels = dicom_dataset(ok8)
    del no_pixels.PixelData
    mismatch = dicom_dataset(noise_image(32, 64, seed=4))
    mismatch.Rows = 64
    jpegls = dicom_dataset(ok8, transfer_syntax="1.2.840.10008.1.2.4.80")
    jpegls.PixelData = encapsulate([b"\xff\xd8\xff\xf7" + bytes(60) + b"\xff\xd9"])
    jpegls["PixelData"].VR = "OB"
    huge = dicom_dataset(ok8)
    huge.Rows = huge.Columns = 60000
    many = dicom_dataset(ok8, multiframe=True)
    many.NumberOfFrames = 100000
    bad_frames = dicom_dataset(ok8)
    bad_frames.NumberOfFrames = 99  # patched to "ab" in the bytes: pydicom refuses to write it
    inf_pixels = np.ones((8, 8), np.float32)
    inf_pixels[2, 3] = np.inf
    nan_tiff = np.full((8, 8), 0.5, np.float32)
    nan_tiff[1, 1] = np.nan
    bmp = bytearray(image_bytes(ok8, "BMP"))
    bmp[18:22] = struct.pack("<i", 0)  # biWidth = 0
    return {
        "empty.png": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) * 6 // 10],
        "corrupt_idat.png": bytes(corrupt),
        "notes_as.jpg": b"Patient notes: not an image at all.\nSecond line.\n",
        "archive_as.dcm": zbuf.getvalue(),
        "no_pixels.dcm": dicom_bytes(no_pixels),
        "rows_mismatch.dcm": dicom_bytes(mismatch),
        "jpegls_no_decoder.dcm": dicom_bytes(jpegls),
        "nested_sequences.dcm": nested_sequence_dicom(),
        "DICOMDIR": dicomdir_bytes(),
        "preamble_executable.dcm": dicom_bytes(dicom_dataset(ok8), preamble=executable_preamble()),
        "huge_dims.dcm": dicom_bytes(huge),
        "too_many_frames.dcm": dicom_bytes(many),
        "bad_number_of_frames.dcm": dicom_bytes(bad_frames).replace(
            b"\x28\x00\x08\x00IS\x02\x0099", b"\x28\x00\x08\x00IS\x02\x00ab"),
        "unknown_transfer_syntax.dcm": dicom_bytes(dicom_dataset(ok8)).replace(
            b"1.2.840.10008.1.2.1\x00", b"0.2.840.10008.1.2.1\x00"),
        "inf_pixels.dcm": dicom_bytes(dicom_dataset(inf_pixels)),
        "nan_pixels.tif": tiff_bytes([nan_tiff]),
        "zero_width.bmp": bytes(bmp),
        "mixed_page_sizes.tif": tiff_bytes([noise_image(16, 16), noise_image(8, 16)]),
        # device exports: refused on what can be checked without the vendor readers
        "vol_short_header.vol": b"HSF-OCT-103\0" + bytes(500),
        "zeiss_no_size.img": bytes(1000),
        "zeiss_wrong_size_512x128.img": bytes(2048),
        "heyex_escape.xml": heyex_xml("file:///\\\\server\\..\\x/../../etc/passwd"),
        "heyex_no_bscans.xml": b"<?xml version='1.0'?>\n<HEDX><BODY><Patient/></BODY></HEDX>\n",
        "heyex_missing_tiff.xml": heyex_xml("file:///\\\\server\\export\\B1.tif"),
        "png_named_as.jpg": image_bytes(ok8, "PNG"),
        "dicom_named_as.png": dicom_bytes(dicom_dataset(ok8)),
    }


def main(directory: Path = CORPUS) -> list[Path]:
    paths = []
    for name, data in corpus_files().items():
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in main():
        print(f"{p.stat().st_size:8d}  {p.name}")
