package jssafe

import "testing"

func TestCheck(t *testing.T) {
	for _, ok := range []string{`{"a":"plain text","n":1,"l":[true,null,"é"]}`, `{}`, `[1,2]`} {
		if err := Check([]byte(ok)); err != nil {
			t.Errorf("Check(%s) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{
		`{"a":"O'Brien"}`, `{"a":"\u0027"}`, `{"a":"say \"hi\""}`, `{"a":"back\\slash"}`,
		`{"a":"line\nbreak"}`, `{"a":"\u2028"}`, `{"it's":"a key"}`, `{"a":[{"b":"'"}]}`,
	} {
		if err := Check([]byte(bad)); err == nil {
			t.Errorf("Check(%s) = nil, want a refusal", bad)
		}
	}
	if CheckString("j2'") == nil || CheckString("plain") != nil {
		t.Error("CheckString does not apply the rule to the string")
	}
}
