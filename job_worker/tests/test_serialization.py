from datetime import date, datetime, timedelta
from decimal import Decimal

from markupsafe import Markup
from odoo.tests import TransactionCase, new_test_user

from ..engine.codec import dumps, loads
from ..enqueue.argument_codec import codec_extensions


class TestSerialization(TransactionCase):
    """Job arguments round-trip exactly through the JSON stored in the job."""

    def roundtrip(self, value, env=None):
        env = env or self.env
        return loads(dumps(value, codec_extensions(env)), codec_extensions(env))

    def test_recordsets_keep_model_ids_user_superuser_and_allowed_context(self):
        user = new_test_user(self.env, login="codec_user", groups="base.group_user")
        partners = self.env["res.partner"].create([{"name": "A"}, {"name": "B"}])
        records = partners.with_user(user).with_context(
            lang="en_US", tz="Europe/Brussels", active_test=False, unrelated_key="dropped"
        )
        decoded = self.roundtrip(records)
        self.assertEqual(decoded._name, "res.partner")
        self.assertEqual(decoded.ids, partners.ids)
        self.assertEqual(decoded.env.uid, user.id)
        self.assertFalse(decoded.env.su)
        self.assertEqual(decoded.env.context.get("tz"), "Europe/Brussels")
        self.assertEqual(decoded.env.context.get("lang"), "en_US")
        self.assertIs(decoded.env.context.get("active_test"), False)
        self.assertNotIn("unrelated_key", decoded.env.context)
        self.assertTrue(self.roundtrip(partners.sudo()).env.su)

    def test_empty_recordsets_and_recordsets_inside_structures(self):
        value = {"partners": self.env["res.partner"], "pair": (self.env.user, 1)}
        decoded = self.roundtrip(value)
        self.assertEqual(decoded["partners"]._name, "res.partner")
        self.assertFalse(decoded["partners"])
        self.assertIsInstance(decoded["pair"], tuple)
        self.assertEqual(decoded["pair"][0], self.env.user)

    def test_common_odoo_values_roundtrip_with_their_types(self):
        value = [
            datetime(2024, 5, 6, 7, 8, 9, 123456),
            date(2024, 5, 6),
            timedelta(days=1, seconds=5),
            Decimal("12.3400"),
            Markup("<b>bold</b>"),
            {1: "integer key"},
            ("a", "tuple"),
            {"nested": [b"bytes", None, True, 1.5]},
        ]
        decoded = self.roundtrip(value)
        self.assertEqual(decoded, value)
        self.assertEqual([type(item) for item in decoded], [type(item) for item in value])

    def test_job_fields_give_back_decoded_values_and_read_gives_json(self):
        partner = self.env["res.partner"].create({"name": "Field"})
        when = datetime(2024, 1, 2, 3, 4, 5)
        job = partner.with_delay().message_post(body=Markup("<p>hi</p>"), subject=str(when))
        job.invalidate_recordset()
        self.assertEqual(job.records, partner)
        self.assertEqual(job.kwargs["body"], Markup("<p>hi</p>"))
        self.assertIsInstance(job.kwargs["body"], Markup)
        read = job.read(["kwargs", "records"])[0]
        self.assertIsInstance(read["kwargs"], str)
        self.assertIn('"_type":"markup"', read["kwargs"])

    def test_a_stored_recordset_of_an_unknown_model_is_reported(self):
        text = '{"_type": "odoo_recordset", "model": "no.such.model", "ids": [1]}'
        with self.assertRaisesRegex(LookupError, "no.such.model"):
            loads(text, codec_extensions(self.env))
