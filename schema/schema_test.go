package schema

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnqualifyView(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CREATE VIEW public.v AS\n SELECT orders.id,\n    orders.total\n   FROM public.orders\n  WHERE (orders.status = 'paid'::text);",
			"CREATE VIEW public.v AS\n SELECT id,\n    total\n   FROM public.orders\n  WHERE (status = 'paid'::text);"},
		{"CREATE VIEW public.v AS\n SELECT o.id\n   FROM public.orders o;", "CREATE VIEW public.v AS\n SELECT id\n   FROM public.orders o;"},
		// Two relations: qualified on every major, left alone.
		{"CREATE VIEW public.v AS\n SELECT o.id\n   FROM (public.orders o\n     JOIN public.customers c ON ((c.id = o.customer_id)));", ""},
		{"CREATE MATERIALIZED VIEW public.m AS\n SELECT orders.id\n   FROM public.orders\n  WITH NO DATA;", "CREATE MATERIALIZED VIEW public.m AS\n SELECT id\n   FROM public.orders\n  WITH NO DATA;"},
	} {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		assert.Equal(t, want, unqualifyView(tc.in))
	}
}

const dump = `--
-- PostgreSQL database dump
--

\restrict Xk3Gd0aP

-- Dumped from database version 16.4
-- Dumped by pg_dump version 18.0

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: orders; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.orders (
    id bigint NOT NULL,
    total numeric
);


--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);


--
-- PostgreSQL database dump complete
--

\unrestrict Xk3Gd0aP
`

func TestParseDropsNoiseAndRoundTrips(t *testing.T) {
	s, err := Parse(dump)
	require.NoError(t, err)
	require.Len(t, s.Objects, 2)
	text := s.Text()
	assert.Equal(t, "-- Name: orders; Type: TABLE; Schema: public\nCREATE TABLE public.orders (\n    id bigint NOT NULL,\n    total numeric\n);\n\n"+
		"-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public\nALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);\n", text)
	again, err := Parse(text)
	require.NoError(t, err)
	assert.Equal(t, text, again.Text(), "Text is a fixed point of Parse")
}

func TestDiff(t *testing.T) {
	expected, _ := Parse(dump)
	for _, tc := range []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"same", func(s string) string { return s }, nil},
		{"column added", func(s string) string {
			return strings.Replace(s, "    total numeric\n", "    total numeric,\n    note text\n", 1)
		}, []string{"column public.orders.note added"}},
		{"column changed", func(s string) string { return strings.Replace(s, "total numeric", "total integer", 1) },
			[]string{"column public.orders.total changed"}},
		{"constraint removed, index added", func(s string) string {
			s = strings.Replace(s, "ADD CONSTRAINT orders_pkey PRIMARY KEY (id);", "", 1)
			s = strings.Replace(s, "-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: -", "-- Name: orders_total; Type: INDEX; Schema: public; Owner: -", 1)
			return strings.Replace(s, "ALTER TABLE ONLY public.orders\n", "CREATE INDEX orders_total ON public.orders USING btree (total);\n", 1)
		}, []string{"constraint public.orders.orders_pkey removed", "index public.orders_total added"}},
		{"function added", func(s string) string {
			return s + "\n--\n-- Name: f(); Type: FUNCTION; Schema: public; Owner: -\n--\n\nCREATE FUNCTION public.f() RETURNS integer\n    LANGUAGE sql\n    AS $$ SELECT 1 $$;\n"
		}, []string{"function public.f() added"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live, err := Parse(tc.edit(dump))
			require.NoError(t, err)
			var got []string
			for _, d := range Diff(expected, live) {
				got = append(got, d.String())
			}
			assert.Equal(t, tc.want, got)
			u := Unified(expected, live, "a", "b")
			if tc.want == nil {
				assert.Empty(t, u)
			} else {
				assert.Contains(t, u, "--- a\n+++ b\n@@ ")
			}
		})
	}
}

func TestUnifiedMarksLines(t *testing.T) {
	expected, _ := Parse(dump)
	live, _ := Parse(strings.Replace(dump, "total numeric", "total integer", 1))
	assert.Equal(t, "--- git\n+++ live\n@@ column public.orders.total (changed) @@\n-total numeric\n+total integer\n", Unified(expected, live, "git", "live"))
}

func TestReadFile(t *testing.T) {
	f := File("h1:abc=", "db/orders", "-- Name: x; Type: TABLE; Schema: public\nCREATE TABLE public.x ();\n")
	sum, line, body, err := ReadFile("db/orders/schema.sql", f)
	require.NoError(t, err)
	assert.Equal(t, "h1:abc=", sum)
	assert.Equal(t, 4, line)
	assert.True(t, strings.HasPrefix(body, "-- Name: x;"), body)
	_, _, _, err = ReadFile("db/orders/schema.sql", "CREATE TABLE x ();\n")
	assert.ErrorContains(t, err, "db/orders/schema.sql:1: ")
	assert.ErrorContains(t, err, "[schema-header]")
}
