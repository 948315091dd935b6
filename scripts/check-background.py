"""Hearth in the background, checked as a person would see it on a desktop.

    python3 scripts/check-background.py          (after `cargo build -p hearth`)

Runs Arta's real window under Xvfb on a private session bus, with this script as
the desktop's panel (a StatusNotifierWatcher) and notification service, and Ben
as a headless device. It closes the window, has Ben write, and checks that the
notification still comes while the window is hidden, that the icon's click brings
the window back, that a second start of Hearth shows the running window, and that
"Quit" in the icon's menu ends the process. Prints what it saw; exits non-zero on
the first thing that does not hold.

Needs Xvfb, xdotool, dbus-daemon, and the Python packages dbus-next and
python-xlib (pip install dbus-next python-xlib). Loopback only, mDNS off.
"""

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time

from dbus_next import Variant
from dbus_next.aio import MessageBus
from dbus_next.constants import PropertyAccess
from dbus_next.service import ServiceInterface, dbus_property, method
from Xlib import X, display as xdisplay, protocol

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("HEARTH_BIN", "target/debug/hearth")
from hearth_headless import HEARTH, Headless, free_port  # noqa: E402

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path={path}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
"""


class Watcher(ServiceInterface):
    def __init__(self):
        super().__init__("org.kde.StatusNotifierWatcher")
        self.items = []

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):  # noqa: F821
        self.items.append(service)

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):  # noqa: F821
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":  # noqa: F821
        return self.items

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":  # noqa: F821
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":  # noqa: F821
        return 0


class Notifications(ServiceInterface):
    def __init__(self):
        super().__init__("org.freedesktop.Notifications")
        self.shown = []

    @method()
    def Notify(self, app: "s", replaces: "u", icon: "s", summary: "s", body: "s",  # noqa: F821
               actions: "as", hints: "a{sv}", timeout: "i") -> "u":  # noqa: F821
        self.shown.append((summary, body))
        return len(self.shown)

    @method()
    def CloseNotification(self, id: "u"):  # noqa: F821
        pass

    @method()
    def GetCapabilities(self) -> "as":  # noqa: F821
        return ["body"]

    @method()
    def GetServerInformation(self) -> "ssss":  # noqa: F821
        return ["check-background", "hearth", "1", "1.2"]


class Panel:
    """The desktop's side of the session bus, on an event loop of its own."""

    def __init__(self, address):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.watcher, self.notifications = Watcher(), Notifications()
        self.bus = self.run(self._connect(address))

    def run(self, coroutine, timeout=20):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _connect(self, address):
        bus = await MessageBus(bus_address=address).connect()
        bus.export("/StatusNotifierWatcher", self.watcher)
        bus.export("/org/freedesktop/Notifications", self.notifications)
        await bus.request_name("org.kde.StatusNotifierWatcher")
        await bus.request_name("org.freedesktop.Notifications")
        return bus

    async def _interface(self, path, name):
        service = self.watcher.items[0]
        introspection = await self.bus.introspect(service, path)
        return self.bus.get_proxy_object(service, path, introspection).get_interface(name)

    def click_icon(self):
        async def go():
            item = await self._interface("/StatusNotifierItem", "org.kde.StatusNotifierItem")
            await item.call_activate(0, 0)
        self.run(go())

    def tooltip(self):
        async def go():
            item = await self._interface("/StatusNotifierItem", "org.kde.StatusNotifierItem")
            return await item.get_tool_tip()
        return self.run(go())

    def menu_click(self, label):
        async def go():
            menu = await self._interface("/MenuBar", "com.canonical.dbusmenu")
            for id, props in await menu.call_get_group_properties([], []):
                if "label" in props and props["label"].value == label:
                    await menu.call_event(id, "clicked", Variant("i", 0), 0)
                    return
            raise RuntimeError(f"no {label!r} in the icon's menu")
        self.run(go())


def until(what, check, timeout=20, on_fail=lambda: ""):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            print(f"ok: {what}")
            return value
        time.sleep(0.1)
    sys.exit(f"FAILED: {what} (waited {timeout} s) {on_fail()}")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def visible_windows():
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Hearth$"],
                         capture_output=True, text=True)
    return out.stdout.split()


def close_window(window):
    """What a window manager does for the close button: WM_DELETE_WINDOW."""
    d = xdisplay.Display()
    win = d.create_resource_object("window", int(window))
    protocols = d.intern_atom("WM_PROTOCOLS")
    event = protocol.event.ClientMessage(
        window=win, client_type=protocols,
        data=(32, [d.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]))
    win.send_event(event, event_mask=X.NoEventMask)
    d.flush()
    d.close()


def main():
    work = tempfile.mkdtemp(prefix="hearth-background-")
    port_a, port_b = free_port(), free_port()
    procs = []
    try:
        # Arta and Ben pair, headless; then Arta's device runs as the window.
        arta, ben = Headless(f"{work}/arta", port_a), Headless(f"{work}/ben", port_b)
        arta.ask(cmd="init", name="Arta", language="en", time_zone="Europe/Tirane")
        ben.ask(cmd="init", name="Ben", language="en", time_zone="America/Toronto")
        code = arta.ask(cmd="invite")["code"]
        ben.ask(cmd="pair", code=code)
        arta.wait(lambda e: e.get("event") == "paired", timeout=60)
        arta.stop()
        print("ok: Arta and Ben paired")

        # Xvfb picks a free display and says which.
        read_end, write_end = os.pipe()
        procs.append(subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0",
                                       "900x720x24"], pass_fds=(write_end,),
                                      stderr=subprocess.DEVNULL))
        os.close(write_end)
        with os.fdopen(read_end) as said:
            display = f":{said.readline().strip()}"
        with open(f"{work}/bus.conf", "w") as f:
            f.write(BUS_CONF.format(path=f"{work}/bus"))
        bus = subprocess.Popen(["dbus-daemon", f"--config-file={work}/bus.conf", "--nofork",
                                "--print-address=1"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        procs.append(bus)
        address = bus.stdout.readline().strip()
        os.environ["DISPLAY"] = display
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
        time.sleep(1)
        panel = Panel(address)

        window_cmd = [HEARTH, "--profile", f"{work}/arta", "--no-mdns", "--no-internet",
                      "--listen", f"/ip4/127.0.0.1/tcp/{port_a}", "--dial",
                      f"/ip4/127.0.0.1/tcp/{port_b}"]
        log = open(f"{work}/arta.log", "w")
        app = subprocess.Popen(window_cmd, stdout=log, stderr=log)
        procs.append(app)
        window = until("Arta's window is on screen", lambda: visible_windows(), 60)[0]
        until("Hearth's icon is in the tray", lambda: panel.watcher.items)

        close_window(window)
        until("closing the window hides it", lambda: not visible_windows())
        time.sleep(1)
        if app.poll() is not None:
            sys.exit(f"FAILED: Hearth quit when its window closed (rc {app.returncode})")
        print("ok: Hearth still runs")
        cpu = cpu_seconds(app.pid)
        time.sleep(10)
        print(f"   hidden, idle: {100 * (cpu_seconds(app.pid) - cpu) / 10:.1f}% of a core")
        until("Hearth says it runs on in the tray",
              lambda: any("tray" in body for _, body in panel.notifications.shown))

        ben.ask(cmd="send", text="Are you still up?")
        until("Ben's message is a notification while the window is hidden",
              lambda: ("Ben", "Are you still up?") in panel.notifications.shown, 30)
        until("the icon says a message is waiting", lambda: panel.tooltip()[3])

        panel.click_icon()
        until("a click on the icon brings the window back", lambda: visible_windows())

        close_window(visible_windows()[0])
        until("closed again", lambda: not visible_windows(),
              on_fail=lambda: f"Hearth {'runs' if app.poll() is None else 'quit'}; "
                              f"visible: {visible_windows()}")
        again = subprocess.run(window_cmd, capture_output=True, text=True, timeout=30)
        if again.returncode != 0:
            sys.exit(f"FAILED: a second start failed: {again.stderr}")
        until("a second start shows the running window", lambda: visible_windows())

        panel.menu_click("Quit Hearth")
        try:
            rc = app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sys.exit("FAILED: Quit in the tray's menu did not end Hearth")
        print(f"ok: Quit in the icon's menu ends Hearth (exit code {rc})")
        if rc != 0:
            sys.exit("FAILED: Hearth did not exit cleanly")
        if os.path.exists(f"{work}/arta/window.sock"):
            sys.exit("FAILED: the window's socket was left behind")
        ben.stop()
        print("all held")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


if __name__ == "__main__":
    main()
