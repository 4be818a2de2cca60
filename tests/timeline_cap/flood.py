# flood.py IN.pcap OUT.pcap N: IN (classic little-endian pcap) with N SYNs to
# distinct connections (same time) after its first packet: N undecided
# connections whose TcpOpen rows the timeline holds (TIMELINE_MAX_HELD).
import struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = open(src, 'rb').read()
magic = struct.unpack('<I', d[:4])[0]
assert magic in (0xa1b2c3d4, 0xa1b23c4d), hex(magic)
out = [d[:24]]
off = 24; k = 0
while off < len(d):
    ts, us, cl, ol = struct.unpack('<IIII', d[off:off+16])
    out.append(d[off:off+16+cl]); off += 16 + cl; k += 1
    if k == 1:
        eth = b'\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00'
        for i in range(n):
            ip = struct.pack('>BBHHHBBH', 0x45, 0, 40, 0, 0x4000, 64, 6, 0) + bytes([10, 99, i >> 8 & 255, i & 255]) + bytes([10, 98, 0, 1])
            tcp = struct.pack('>HHIIBBHHH', 40000, 9, i, 0, 0x50, 0x02, 65535, 0, 0)
            out.append(struct.pack('<IIII', ts, us, 54, 54) + eth + ip + tcp)
open(dst, 'wb').write(b''.join(out))
