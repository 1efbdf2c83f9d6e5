# Sends N CEF-over-syslog lines (with sequence numbers) over 4 TCP connections to 127.0.0.1:6514.
# Preliminary throughput check until the load harness of issue 9 exists. Usage: send_cef_tcp.py N
import socket, threading, time, sys
N=int(sys.argv[1]); C=4; per=N//C
line=b'<134>Nov 21 10:00:00 fw01 CEF:0|Palo Alto Networks|PAN-OS|10.1|end|TRAFFIC|3|src=10.0.0.5 spt=51515 dst=203.0.113.9 dpt=443 proto=TCP act=allow cs1Label=Rule cs1=allow-web in=1234 out=5678 seq=%d\n'
bufs=[b''.join(line % (c*per+i) for i in range(per)) for c in range(C)]
def send(b):
    s=socket.create_connection(('127.0.0.1',6514)); s.sendall(b); s.close()
t0=time.time()
ts=[threading.Thread(target=send,args=(b,)) for b in bufs]
[t.start() for t in ts]; [t.join() for t in ts]
print("sent in %.2fs, bytes/msg %d" % (time.time()-t0, len(bufs[0])//per))
