package engine

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://app:s3cret@db:5432/orders?sslmode=require", "postgres://app:xxxxx@db:5432/orders?sslmode=require"},
		{"postgresql://app:p%40ss@db/orders", "postgresql://app:xxxxx@db/orders"},
		{"postgres://app@db/orders?password=s3cret&sslmode=disable", "postgres://app@db/orders?password=xxxxx&sslmode=disable"},
		{"postgres://db/orders?sslpassword=k3y", "postgres://db/orders?sslpassword=xxxxx"},
		{"host=db user=app password=s3cret dbname=orders", "host=db user=app password=xxxxx dbname=orders"},
		{"host=db password='se cret' dbname=x", "host=db password=xxxxx dbname=x"},
		{"postgres://app@db/orders", "postgres://app@db/orders"},
		{"postgres://app:pa:ss@db/orders", "postgres://app:xxxxx@db/orders"},
		{"no url here", "no url here"},
	} {
		assert.Equal(t, tc.want, Redact(tc.in), tc.in)
	}
}

func TestRedactText(t *testing.T) {
	u := "postgres://app:hunter22@db/orders"
	msg := RedactText(errors.New(`failed: password hunter22 rejected for postgres://app:hunter22@db/orders`).Error(), u)
	assert.NotContains(t, msg, "hunter22")
	assert.Contains(t, msg, "postgres://app:xxxxx@db/orders")
}
