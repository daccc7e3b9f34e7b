package pgembed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// child is a postgres server run as a direct child process (Ephemeral).
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
}

// startChild runs postgres in the foreground as our child with a
// parent-death signal, and waits until it is ready.
func (c *Cluster) startChild(ctx context.Context) error {
	logf, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	if err := c.runAs.chown(c.logPath()); err != nil {
		_ = logf.Close()
		return err
	}
	cmd := exec.Command(c.program("postgres"), "-D", c.dataDir)
	cmd.Dir = "/"
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	attr := c.runAs.credential()
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	// SIGINT is PostgreSQL's fast shutdown. Its own process group keeps a
	// terminal's ^C from reaching it before our cleanup runs.
	attr.Pdeathsig = syscall.SIGINT
	attr.Setpgid = true
	cmd.SysProcAttr = attr

	ch := &child{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the forking *thread* exits, so
		// this goroutine keeps its thread until the server has exited.
		runtime.LockOSThread()
		defer close(ch.done)
		defer logf.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.child, c.started = ch, true
	if err := c.waitReady(ctx, cmd.Process.Pid, ch.done); err != nil {
		return fmt.Errorf("%w\nserver log (%s):\n%s", err, c.logPath(), logTail(c.logPath()))
	}
	return nil
}

// stop asks the server for a fast shutdown and waits for it to exit; if ctx
// ends first it forces an immediate shutdown (SIGQUIT).
func (ch *child) stop(ctx context.Context) error {
	select {
	case <-ch.done:
		return nil
	default:
	}
	if err := ch.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return fmt.Errorf("signal postgres: %w", err)
	}
	select {
	case <-ch.done:
		return nil
	case <-ctx.Done():
		_ = ch.cmd.Process.Signal(syscall.SIGQUIT)
		<-ch.done
		return fmt.Errorf("wait for postgres to exit: %w", ctx.Err())
	}
}
