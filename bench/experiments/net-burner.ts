import net from 'node:net';

// A background process that lives in the kernel's network path: four loopback TCP connections
// echoing 200 bytes back and forth as fast as they can, until killed. api-cpu.ts runs it at
// SCHED_IDLE on the engine core, standing in for the engine's gRPC traffic without its database work.

const server = net.createServer((socket) => socket.on('data', (d) => socket.write(d)));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  for (let i = 0; i < 4; i++) {
    const client = net.connect(port, '127.0.0.1', () => client.write('x'.repeat(200)));
    client.on('data', (d) => client.write(d));
  }
});
