/**
 * The part of an exported `model.py` that reads and writes files without any package but
 * torch: safetensors (through the `safetensors` package when it is installed) and NumPy's
 * `.npy`, plus `load_weights`/`save_weights` in gradlab's state-dict form. Python source,
 * emitted verbatim by {@link ./torch.ts}.
 */
export const TORCH_FILES = String.raw`
# ---------------------------------------------------------------------------------------------
# Files: gradlab's safetensors state dicts, and data as .safetensors or .npy (little-endian).
# ---------------------------------------------------------------------------------------------

SAFETENSORS_DTYPES = {
    'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
    'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8,
    'U8': torch.uint8, 'BOOL': torch.bool,
}
NPY_DTYPES = {
    '<f8': torch.float64, '<f4': torch.float32, '<f2': torch.float16, '<i8': torch.int64,
    '<i4': torch.int32, '<i2': torch.int16, '|i1': torch.int8, '|u1': torch.uint8, '|b1': torch.bool,
}


def tensor_from_bytes(data, dtype, shape):
    if math.prod(shape) == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


def read_safetensors(path):
    """{name: tensor} from a safetensors file (the format: an 8-byte little-endian header
    length, a JSON header {name: {dtype, shape, data_offsets}}, then the data)."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        pass
    else:
        return load_file(path)
    with open(path, 'rb') as file:
        data = file.read()
    (length,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + length])
    start = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        begin, end = entry['data_offsets']
        tensors[name] = tensor_from_bytes(data[start + begin:start + end],
                                          SAFETENSORS_DTYPES[entry['dtype']], entry['shape'])
    return tensors


def write_safetensors(tensors, path, metadata=None):
    """Writes {name: tensor} as float32 safetensors (names sorted, as gradlab writes them)."""
    tensors = {name: t.detach().to('cpu', torch.float32).contiguous() for name, t in tensors.items()}
    try:
        from safetensors.torch import save_file
    except ImportError:
        pass
    else:
        return save_file(tensors, path, metadata)
    header = {} if not metadata else {'__metadata__': metadata}
    chunks, offset = [], 0
    for name in sorted(tensors):
        values = array.array('f', tensors[name].flatten().tolist())  # no numpy needed
        if sys.byteorder == 'big':
            values.byteswap()
        chunk = values.tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(tensors[name].shape),
                        'data_offsets': [offset, offset + len(chunk)]}
        chunks.append(chunk)
        offset += len(chunk)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, 'wb') as file:
        file.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))


def read_npy(path):
    """A tensor from a NumPy .npy file (C order, little-endian or byte-sized dtypes)."""
    with open(path, 'rb') as file:
        data = file.read()
    if data[:6] != b'\x93NUMPY':
        raise ValueError(f'{path}: not a .npy file')
    if data[6] == 1:
        (length,) = struct.unpack('<H', data[8:10])
        start = 10
    else:
        (length,) = struct.unpack('<I', data[8:12])
        start = 12
    header = ast.literal_eval(data[start:start + length].decode('latin1'))
    if header['fortran_order']:
        raise ValueError(f'{path}: Fortran-order arrays are not read; save with C order')
    if header['descr'] not in NPY_DTYPES:
        raise ValueError(f'{path}: dtype {header["descr"]} is not one of {", ".join(NPY_DTYPES)}')
    return tensor_from_bytes(data[start + length:], NPY_DTYPES[header['descr']], list(header['shape']))


def read_array(path, name):
    """The array in a .npy file, or the tensor called name (or the only one) in a .safetensors file."""
    if path.endswith('.npy'):
        return read_npy(path)
    tensors = read_safetensors(path)
    if name in tensors:
        return tensors[name]
    if len(tensors) == 1:
        return next(iter(tensors.values()))
    raise ValueError(f'{path}: no tensor {name!r} among {", ".join(sorted(tensors))}')


def load_weights(module, path):
    """Loads a gradlab state dict (safetensors, e.g. model.saveSafetensors()) into module:
    names and shapes must match exactly, as gradlab's loadStateDict."""
    tensors = read_safetensors(path)
    own = module.state_dict()
    missing = [name for name in own if name not in tensors]
    unknown = [name for name in tensors if name not in own]
    if missing or unknown:
        raise ValueError(f'{path} does not match the model: missing {missing or "nothing"}, '
                         f'unknown {unknown or "nothing"} (the model has {", ".join(own)})')
    for name, tensor in tensors.items():
        if list(tensor.shape) != list(own[name].shape):
            raise ValueError(f'{path}: {name} has shape {list(tensor.shape)}, '
                             f'the model expects {list(own[name].shape)}')
    module.load_state_dict({name: t.to(own[name].dtype) for name, t in tensors.items()})


def save_weights(module, path):
    """Writes module's state dict as gradlab reads it: model.loadStateDict(fromSafetensors(bytes))."""
    write_safetensors(module.state_dict(), path, {'format': 'pt'})
`;
