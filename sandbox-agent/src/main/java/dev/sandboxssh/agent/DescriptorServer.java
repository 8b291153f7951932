package dev.sandboxssh.agent;

import dev.sandboxssh.agent.process.HandOffs;
import io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFuture;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.SimpleChannelInboundHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.channel.unix.FileDescriptor;
import io.grpc.netty.shaded.io.netty.handler.codec.LineBasedFrameDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The descriptor socket: a caller on the agent's host names a handed-off process (see {@code
 * StartRequest.hand_off}) and receives its stdio descriptors by SCM_RIGHTS, so that bulk bytes and
 * keystrokes go between the caller and the process without passing through the agent.
 *
 * <p>Only the agent's user may connect (mode 0600, as the gRPC socket), and a name is 128 random
 * bits valid once, which only the authenticated Start caller saw.
 */
final class DescriptorServer implements AutoCloseable {
  /** The longest line a caller may send: a name is 32 hex digits. */
  private static final int MAX_LINE = 64;

  private final Channel server;

  private DescriptorServer(Channel server) {
    this.server = server;
  }

  /** The descriptor socket's path beside the agent's gRPC socket {@code socket}. */
  static Path beside(Path socket) {
    return socket.resolveSibling("fds.sock");
  }

  /** Listens on {@code path}, serving descriptors from {@code handOffs} on {@code loop}. */
  static DescriptorServer listen(Path path, HandOffs handOffs, EventLoopGroup loop)
      throws IOException {
    Files.deleteIfExists(path);
    ChannelFuture bound =
        new ServerBootstrap()
            .group(loop)
            .channel(EpollServerDomainSocketChannel.class)
            .childHandler(
                new ChannelInitializer<EpollDomainSocketChannel>() {
                  @Override
                  protected void initChannel(EpollDomainSocketChannel ch) {
                    ch.pipeline()
                        .addLast(new LineBasedFrameDecoder(MAX_LINE), new Handler(handOffs));
                  }
                })
            .bind(new DomainSocketAddress(path.toString()))
            .awaitUninterruptibly();
    if (!bound.isSuccess()) {
      throw new IOException("cannot listen on " + path + ": " + bound.cause().getMessage());
    }
    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
    return new DescriptorServer(bound.channel());
  }

  @Override
  public void close() {
    server.close().awaitUninterruptibly();
  }

  /** One connection: one name in, its descriptors out, then the connection closes. */
  private static final class Handler extends SimpleChannelInboundHandler<ByteBuf> {
    private final HandOffs handOffs;

    Handler(HandOffs handOffs) {
      this.handOffs = handOffs;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
      int[] descriptors = handOffs.take(line.toString(StandardCharsets.US_ASCII).trim());
      if (descriptors == null) {
        // Unknown, taken or expired: the caller sees the connection close with nothing sent.
        ctx.close();
        return;
      }
      ChannelFuture last = null;
      for (int fd : descriptors) {
        last = ctx.write(new FileDescriptor(fd));
      }
      ctx.flush();
      // The caller has its own copies once sent; the agent's go, whatever happened.
      last.addListener(
          f -> {
            HandOffs.release(descriptors);
            ctx.close();
          });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
