//! One writer per run folder: an advisory lock (`flock`) on `<run>/.lock`, held while a run
//! writes there. The kernel drops the lock when its process dies, so a lock left by a killed run
//! is taken over, with a message naming the dead process; a live one makes the second run fail.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, TrainError};

/// File name of the lock inside a run folder.
pub const LOCK_FILE: &str = ".lock";

/// The held lock of a run folder; released (and emptied) when dropped.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

/// What acquiring the lock found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockTaken {
    /// The folder was free.
    Free,
    /// A lock left by a process that is gone was taken over; the text names it.
    TakenOver(String),
}

impl RunLock {
    /// Locks the run folder `root` (which must exist) for this process.
    ///
    /// Fails with [`TrainError::RunInUse`] when another live process holds it.
    pub fn acquire(root: &Path) -> Result<(Self, LockTaken)> {
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| TrainError::io("opening the run lock", &path, e))?;
        let mut previous = String::new();
        // An unreadable lock file only loses the name of its previous holder.
        let _ = file.read_to_string(&mut previous);
        let previous = previous.trim().to_string();
        if !try_lock(&file).map_err(|e| TrainError::io("locking", &path, e))? {
            let holder = if previous.is_empty() {
                "another process".to_string()
            } else {
                format!("process {previous}")
            };
            return Err(TrainError::RunInUse {
                path,
                problem: format!(
                    "{holder} is writing to this run folder; wait for it to finish or choose another --out"
                ),
            });
        }
        let taken = if previous.is_empty() {
            LockTaken::Free
        } else {
            LockTaken::TakenOver(format!(
                "taking over the run folder lock left by process {previous}, which is no longer running"
            ))
        };
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| writeln!(file, "{}", describe_self()))
            .and_then(|()| file.flush())
            .map_err(|e| TrainError::io("writing", &path, e))?;
        Ok((Self { file, path }, taken))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // An empty lock file marks a clean exit; the kernel releases the lock with the file.
        let _ = self.file.set_len(0);
    }
}

fn describe_self() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if host.is_empty() {
        std::process::id().to_string()
    } else {
        format!("{} on {host}", std::process::id())
    }
}

#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns; it only sets an advisory lock.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.kind() == std::io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(err)
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}
