//! Moving messages: the send and receive halves of AF_UNIX sockets
//! (Linux's unix_stream_sendmsg, unix_dgram_sendmsg and their recvmsg
//! counterparts). A sender checks the connection, its room (SO_SNDBUF)
//! and the receiver's queue, and appends to the receiver's queue; a
//! receiver takes from its own.

use super::*;

impl UnixSock {
    pub(super) fn send_stream(
        &self,
        env: &mut dyn SocketEnv,
        msg: SendMsg,
        nonblock: bool,
    ) -> OpResult<usize> {
        let peer = {
            let st = self.st.borrow();
            if msg.addr.is_some() {
                let e = if st.conn == Conn::Connected {
                    Errno::EISCONN
                } else {
                    Errno::EOPNOTSUPP
                };
                return Err(e.into());
            }
            if st.conn != Conn::Connected {
                return Err(Errno::ENOTCONN.into());
            }
            if st.shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE.into());
            }
            st.peer.as_ref().and_then(Weak::upgrade)
        };
        let peer = peer.ok_or(Errno::EPIPE)?;
        if peer.st.borrow().shutdown & RCV_SHUTDOWN != 0 {
            return Err(Errno::EPIPE.into());
        }
        let cred = self.message_cred(env, &msg)?;
        if msg.data.is_empty() {
            return Ok(0);
        }
        if !self.has_room() {
            return Err(if nonblock {
                Errno::EAGAIN.into()
            } else {
                block(self.id)
            });
        }
        let mut fds = self.passed(msg.fds);
        let mut sent = 0;
        while sent < msg.data.len() && self.has_room() {
            let n = (msg.data.len() - sent).min(STREAM_CHUNK);
            let charge = match self.charge(n) {
                Ok(c) => c,
                Err(_) if sent > 0 => break,
                Err(e) => return Err(e.into()),
            };
            let m = Msg {
                data: msg.data[sent..sent + n].to_vec(),
                read: 0,
                fds: std::mem::take(&mut fds),
                cred,
                from: self.st.borrow().addr.clone(),
                _charge: charge,
            };
            peer.st.borrow_mut().recvq.push_back(m);
            sent += n;
        }
        note_wake(peer.id);
        Ok(sent)
    }

    pub(super) fn send_dgram(
        &self,
        env: &mut dyn SocketEnv,
        msg: SendMsg,
        nonblock: bool,
    ) -> OpResult<usize> {
        let (conn, shutdown, peer, bound) = {
            let st = self.st.borrow();
            (st.conn, st.shutdown, st.peer.clone(), st.addr.is_some())
        };
        let target = if self.kind == SOCK_SEQPACKET {
            // A seqpacket send ignores any address (Linux's
            // unix_seqpacket_sendmsg).
            if conn != Conn::Connected {
                return Err(Errno::ENOTCONN.into());
            }
            if shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE.into());
            }
            peer.and_then(|p| p.upgrade()).ok_or(Errno::EPIPE)?
        } else {
            if shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE.into());
            }
            match (msg.addr, peer) {
                (Some(addr), _) => self.lookup(env, addr)?,
                (None, None) => return Err(Errno::ENOTCONN.into()),
                (None, Some(p)) => match p.upgrade() {
                    Some(p) => p,
                    None => {
                        // The peer is gone: disconnected, as Linux does.
                        self.st.borrow_mut().peer = None;
                        return Err(Errno::ECONNREFUSED.into());
                    }
                },
            }
        };
        if msg.data.len() + 32 > self.opts.borrow().sndbuf {
            return Err(Errno::EMSGSIZE.into());
        }
        let cred = self.message_cred(env, &msg)?;
        if self.kind == SOCK_DGRAM && !bound && self.opts.borrow().passcred {
            self.autobind()?;
        }
        {
            let t = target.st.borrow();
            let back = t.peer.as_ref().is_some_and(|p| p.ptr_eq(&self.me));
            if self.kind == SOCK_DGRAM && t.peer.is_some() && !back {
                return Err(Errno::EPERM.into());
            }
            if t.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::EPIPE.into());
            }
            if !back && t.recvq.len() > MAX_DGRAM_QLEN {
                return Err(if nonblock {
                    Errno::EAGAIN.into()
                } else {
                    block(target.id)
                });
            }
        }
        if !self.has_room() {
            return Err(if nonblock {
                Errno::EAGAIN.into()
            } else {
                block(self.id)
            });
        }
        let charge = self.charge(msg.data.len())?;
        let m = Msg {
            data: msg.data.to_vec(),
            read: 0,
            fds: self.passed(msg.fds),
            cred,
            from: self.st.borrow().addr.clone(),
            _charge: charge,
        };
        target.st.borrow_mut().recvq.push_back(m);
        note_wake(target.id);
        Ok(msg.data.len())
    }

    /// Nothing to read: the pending error, end of file, or wait.
    fn empty(&self, st: &mut State, nonblock: bool) -> OpResult<RecvMsg> {
        if let Some(e) = st.error.take() {
            return Err(e.into());
        }
        if st.shutdown & RCV_SHUTDOWN != 0 {
            return Ok(RecvMsg::default());
        }
        Err(if nonblock {
            Errno::EAGAIN.into()
        } else {
            block(self.id)
        })
    }

    pub(super) fn recv_stream(&self, len: usize, flags: u32, nonblock: bool) -> OpResult<RecvMsg> {
        let peek = flags & MSG_PEEK != 0;
        let passcred = self.opts.borrow().passcred;
        let mut st = self.st.borrow_mut();
        if st.conn != Conn::Connected {
            return Err(Errno::EINVAL.into());
        }
        if st.recvq.is_empty() {
            return self.empty(&mut st, nonblock);
        }
        let mut out = RecvMsg::default();
        let mut consumed = Vec::new();
        let mut i = 0;
        while out.data.len() < len && i < st.recvq.len() {
            let m = &mut st.recvq[i];
            // A read never mixes what different senders sent, when the
            // reader asks who sent it.
            if passcred {
                match out.cred {
                    Some(c) if c != m.cred => break,
                    _ => out.cred = Some(m.cred),
                }
            }
            if out.addr.is_none() {
                out.addr = m.from.as_deref().map(|n| sockaddr(Some(n)));
            }
            let n = (m.data.len() - m.read).min(len - out.data.len());
            out.data.extend_from_slice(&m.data[m.read..m.read + n]);
            let had_fds = !m.fds.is_empty();
            if peek {
                out.fds.extend(m.fds.iter().map(|p| p.0.clone()));
                i += 1;
            } else {
                m.read += n;
                out.fds.extend(m.fds.drain(..).map(|p| p.0.clone()));
                if m.read < m.data.len() {
                    break;
                }
                consumed.extend(st.recvq.pop_front());
            }
            if had_fds {
                break;
            }
        }
        out.len = out.data.len();
        drop(st);
        // Dropped outside the borrow: a charge given back wakes the
        // sender.
        drop(consumed);
        Ok(out)
    }

    pub(super) fn recv_dgram(&self, len: usize, flags: u32, nonblock: bool) -> OpResult<RecvMsg> {
        let passcred = self.opts.borrow().passcred;
        let mut st = self.st.borrow_mut();
        if self.kind == SOCK_SEQPACKET && st.conn != Conn::Connected {
            return Err(Errno::ENOTCONN.into());
        }
        let Some(m) = st.recvq.front() else {
            return self.empty(&mut st, nonblock);
        };
        let n = m.data.len().min(len);
        let mut out = RecvMsg {
            data: m.data[..n].to_vec(),
            len: if flags & MSG_TRUNC != 0 {
                m.data.len()
            } else {
                n
            },
            addr: m.from.as_deref().map(|n| sockaddr(Some(n))),
            fds: m.fds.iter().map(|p| p.0.clone()).collect(),
            cred: passcred.then_some(m.cred),
            flags: 0,
        };
        if n < m.data.len() {
            out.flags |= MSG_TRUNC;
        }
        let consumed = if flags & MSG_PEEK == 0 {
            st.recvq.pop_front()
        } else {
            None
        };
        drop(st);
        drop(consumed);
        note_wake(self.id);
        Ok(out)
    }
}
