/*
 * Minimal pseudo-terminal allocation for the simulated ESP32-S3.
 *
 * A simulated board owns the master side of a PTY, exactly as a USB-UART bridge owns the device
 * side of /dev/ttyUSB0; the harness (or screen, idf.py monitor, any serial tool) opens the slave
 * path. Node cannot call openpty()/tcgetattr() itself, and the alternatives (socat as an external
 * process, node-pty which forks a child into the terminal) do not give us a plain PTY pair, so
 * this is the few lines of C the lab needs. See harness/sim/pty/index.ts for the JS side.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_int_arg(napi_env env, napi_callback_info info, int32_t *out) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return -1;
  return napi_get_value_int32(env, argv[0], out) == napi_ok ? 0 : -1;
}

/* openPty() -> { master, slave, path }: a raw-mode PTY pair; the caller keeps `slave` open so the
 * master never sees a hang-up when the serial tool on the other side closes the device. */
static napi_value open_pty(napi_env env, napi_callback_info info) {
  (void)info;
  int master = -1, slave = -1;
  char name[128];
  struct termios tio;
  if (openpty(&master, &slave, name, NULL, NULL) != 0) return throw_errno(env, "openpty");
  if (tcgetattr(slave, &tio) == 0) {
    cfmakeraw(&tio);
    cfsetispeed(&tio, B115200);
    cfsetospeed(&tio, B115200);
    tcsetattr(slave, TCSANOW, &tio);
  }
  fcntl(master, F_SETFD, FD_CLOEXEC);
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, master, &v);
  napi_set_named_property(env, obj, "master", v);
  napi_create_int32(env, slave, &v);
  napi_set_named_property(env, obj, "slave", v);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "path", v);
  return obj;
}

static const struct { speed_t code; int32_t baud; } BAUDS[] = {
  {B0, 0}, {B50, 50}, {B75, 75}, {B110, 110}, {B134, 134}, {B150, 150}, {B200, 200},
  {B300, 300}, {B600, 600}, {B1200, 1200}, {B1800, 1800}, {B2400, 2400}, {B4800, 4800},
  {B9600, 9600}, {B19200, 19200}, {B38400, 38400}, {B57600, 57600}, {B115200, 115200},
  {B230400, 230400}, {B460800, 460800}, {B500000, 500000}, {B576000, 576000},
  {B921600, 921600}, {B1000000, 1000000}, {B1152000, 1152000}, {B1500000, 1500000},
  {B2000000, 2000000}, {B2500000, 2500000}, {B3000000, 3000000}, {B3500000, 3500000},
  {B4000000, 4000000},
};

/* baudRate(fd) -> the output speed the serial tool configured on the terminal (-1 if unknown).
 * Master and slave share one termios on Linux, so the board side sees what the harness set. */
static napi_value baud_rate(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (get_int_arg(env, info, &fd) != 0) { napi_throw_type_error(env, NULL, "baudRate(fd): fd must be an integer"); return NULL; }
  struct termios tio;
  if (tcgetattr(fd, &tio) != 0) return throw_errno(env, "tcgetattr");
  speed_t s = cfgetospeed(&tio);
  int32_t baud = -1;
  for (size_t i = 0; i < sizeof BAUDS / sizeof BAUDS[0]; i++) if (BAUDS[i].code == s) baud = BAUDS[i].baud;
  napi_value v;
  napi_create_int32(env, baud, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "openPty", NAPI_AUTO_LENGTH, open_pty, NULL, &fn);
  napi_set_named_property(env, exports, "openPty", fn);
  napi_create_function(env, "baudRate", NAPI_AUTO_LENGTH, baud_rate, NULL, &fn);
  napi_set_named_property(env, exports, "baudRate", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
