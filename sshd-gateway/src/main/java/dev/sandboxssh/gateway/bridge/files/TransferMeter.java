package dev.sandboxssh.gateway.bridge.files;

/** Counts file bytes moved through a filesystem, for the session's end-of-session log line. */
public interface TransferMeter {
  /** A meter that counts nothing. */
  TransferMeter NONE =
      new TransferMeter() {
        @Override
        public void bytesIn(long n) {}

        @Override
        public void bytesOut(long n) {}
      };

  /** {@code n} bytes were written into the sandbox. */
  void bytesIn(long n);

  /** {@code n} bytes were read out of the sandbox. */
  void bytesOut(long n);
}
