/*
 * LD_PRELOAD shim for user-mode-linux (linux.uml) on hosts whose XSAVE area is larger than UML's.
 *
 * Why: UML keeps each userspace process's FP/vector state in an 832-byte buffer (legacy FXSAVE area
 * + XSAVE header + AVX) and moves it with ptrace(PTRACE_GETREGSET/SETREGSET, NT_X86_XSTATE). On a
 * host with AVX-512 the XSAVE area is ~2.7 KB, and the host kernel refuses a partial xstate SETREGSET
 * with EFAULT; stock UML then panics at the first exec ("userspace - ptrace set fp regs failed,
 * errno = 14", "Attempted to kill init").
 *
 * What: around glibc's ptrace(), a GET/SETREGSET of NT_X86_XSTATE reads the whole xstate into a
 * buffer large enough for any host, then GET copies its first N bytes out, SET overlays the caller's N
 * bytes on it and writes the whole buffer back. The state beyond N bytes (AVX-512) is therefore not
 * carried between UML processes that share one host process, so programs inside UML must not use
 * AVX-512 registers: lab/uml.ts exports GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,... inside.
 *
 * Built by lab/uml.ts at run time (gcc -O2 -shared -fPIC -o xstate-shim.so xstate-shim.c -ldl) into
 * the repository's .lab-uml/ cache whenever the .so is missing or older than this file.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(enum __ptrace_request, pid_t, void *, void *);
/* per host thread: UML's helper threads may trace concurrently */
static __thread unsigned char full[16384] __attribute__((aligned(64)));

long ptrace(enum __ptrace_request req, ...) {
  va_list ap;
  va_start(ap, req);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  static ptrace_fn real;
  if (!real) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
  if ((req == PTRACE_GETREGSET || req == PTRACE_SETREGSET) && (long)addr == NT_X86_XSTATE) {
    struct iovec *iov = data;
    struct iovec whole = { full, sizeof full };
    long r = real(PTRACE_GETREGSET, pid, (void *)(long)NT_X86_XSTATE, &whole);
    if (r < 0) return r;
    size_t n = iov->iov_len < whole.iov_len ? iov->iov_len : whole.iov_len;
    if (req == PTRACE_GETREGSET) {
      memcpy(iov->iov_base, full, n);
      iov->iov_len = n;
      return 0;
    }
    memcpy(full, iov->iov_base, n);
    return real(PTRACE_SETREGSET, pid, (void *)(long)NT_X86_XSTATE, &whole);
  }
  return real(req, pid, addr, data);
}
