"""aiosmtpd handler for the tests: each message is written to DIR as
msgNNN.eml (the DATA bytes as received) and msgNNN.json (HELO name, whether
EHLO was used, envelope sender and recipients)."""
import json
import os


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.n = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Sink takes one argument: the directory")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.dir, "msg%03d" % self.n)
        meta = {
            "helo": session.host_name,
            "ehlo": bool(session.extended_smtp),
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
        }
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 Message accepted for delivery"
