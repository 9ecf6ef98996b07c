import { InterceptingCall, Metadata, status, type Interceptor } from '@grpc/grpc-js';
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';

/**
 * A lazy client connection that can be closed while calls are in flight.
 *
 * The SDK's retry interceptor schedules each retry on a timer that `Connection.close()` does not
 * clear; a retry that fires after the close makes grpc-js throw "Channel has been shut down" inside
 * the timer, an uncaught exception that kills the process (or fails a test file) at shutdown. The
 * guard sits under the retry interceptor: once closed, an attempt ends CANCELLED, which the retry
 * interceptor does not retry but hands to the caller as the call's error.
 */
export function closableConnection(options: Omit<ConnectionOptions, 'interceptors'>): { connection: Connection; close(): Promise<void> } {
  let closed = false;
  const guard: Interceptor = (callOptions, nextCall) => (closed ? cancelledCall() : new InterceptingCall(nextCall(callOptions)));
  const connection = Connection.lazy({ ...options, interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions()), guard] });
  return {
    connection,
    async close() {
      closed = true;
      await connection.close();
    },
  };
}

function cancelledCall(): InterceptingCall {
  const noop = () => {};
  return new InterceptingCall({
    start(_metadata, listener) {
      setImmediate(() => listener?.onReceiveStatus?.({ code: status.CANCELLED, details: 'the Temporal connection is closed', metadata: new Metadata() }));
    },
    cancelWithStatus: noop,
    getPeer: () => '',
    sendMessageWithContext: noop,
    sendMessage: noop,
    startRead: noop,
    halfClose: noop,
    getAuthContext: () => null,
  });
}
