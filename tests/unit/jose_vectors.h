/* jose_vectors.h -- fixed keys and tokens for test_jose.c, made by vectors/jose_vectors.js. */
static const char JWKS[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"rMKA3QCrABHOHrJKtd7xpgaSkXIdMnGXXfv2MgLMmAHPgcVLF5Mix"
	"T4fNvmcQpyWLLDDJdNgUKqjslfy6X-DWlIcPZQyfQwWTTTNbRR3uEQUOWJYMMea5V894yL9ZYxt751mT"
	"p1YJRtAqmM2XiT4KqRSx92gsWubUKwANwe_6SLJmX0V1556ouQNUwwRdG8ka7pXvVFL9rD8jLzUxpxKx"
	"eDpyIlyIScQXvHOKrbK-AXxxs5Oe7BYVjXEy5HCp6AmH2o9dTcrKEMVXa32KbcAG4A86ab4ydZYlTGEm"
	"7LWJBmFwKqFlqwCQaBfr2nnoHe61mPXtKM9SEYT-3uBExwWDw\",\"e\":\"AQAB\",\"kid\":\"r1\",\"use\":"
	"\""
	"sig\",\"alg\":\"RS256\"},{\"kty\":\"EC\",\"x\":\"gmtJbqSjzRgnDm_nTDL5iLXLqQr-"
	"DMIJy2yB78Bn7aM"
	"\",\"y\":\"hyRhzbWxzg_NmY0gJ2RBycNMJwMo0G95m7_eKUoSMTE\",\"crv\":\"P-256\",\"kid\":\"e1\","
	"\"us"
	"e\":\"sig\"},{\"kty\":\"RSA\",\"n\":\"rMKA3QCrABHOHrJKtd7xpgaSkXIdMnGXXfv2MgLMmAHPgcVLF5Mi"
	"xT4fNvmcQpyWLLDDJdNgUKqjslfy6X-DWlIcPZQyfQwWTTTNbRR3uEQUOWJYMMea5V894yL9ZYxt751m"
	"Tp1YJRtAqmM2XiT4KqRSx92gsWubUKwANwe_6SLJmX0V1556ouQNUwwRdG8ka7pXvVFL9rD8jLzUxpxK"
	"xeDpyIlyIScQXvHOKrbK-AXxxs5Oe7BYVjXEy5HCp6AmH2o9dTcrKEMVXa32KbcAG4A86ab4ydZYlTGE"
	"m7LWJBmFwKqFlqwCQaBfr2nnoHe61mPXtKM9SEYT-3uBExwWDw\",\"e\":\"AQAB\",\"kid\":\"renc\",\"use"
	"\":\"enc\"},{\"kty\":\"RSA\",\"n\":\"rMKA3QCrABHOHrJKtd7xpgaSkXIdMnGXXfv2MgLMmAHPgcVLF5Mix"
	"T4fNvmcQpyWLLDDJdNgUKqjslfy6X-DWlIcPZQyfQwWTTTNbRR3uEQUOWJYMMea5V894yL9ZYxt751mT"
	"p1YJRtAqmM2XiT4KqRSx92gsWubUKwANwe_6SLJmX0V1556ouQNUwwRdG8ka7pXvVFL9rD8jLzUxpxKx"
	"eDpyIlyIScQXvHOKrbK-AXxxs5Oe7BYVjXEy5HCp6AmH2o9dTcrKEMVXa32KbcAG4A86ab4ydZYlTGEm"
	"7LWJBmFwKqFlqwCQaBfr2nnoHe61mPXtKM9SEYT-3uBExwWDw\",\"e\":\"AQAB\",\"kid\":\"r512\","
	"\"alg\""
	":\"RS512\"},{\"crv\":\"Ed25519\",\"x\":\"msxgqwY0QGxQSAZeEdaR4UHH4CrJZlG1rYDS2CDb6XE\","
	"\"kt"
	"y\":\"OKP\",\"kid\":\"ed1\"},{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"}]}";
static const char TOK_RS256[] =
	"eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL29w"
	"LnRlc3QiLCJhdWQiOiJ0cmFuc29tIiwic3ViIjoicmVwbzphY21lL3BheW1lbnRzIiwiaWF0IjoxNzAw"
	"MDAwMDAwLCJuYmYiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwicmVwb3NpdG9yeSI6ImFjbWUv"
	"cGF5bWVudHMifQ.hoDl4oykuN8GkGnGhSuapHJDMJ1t-IicJxE6d1wDJZQOT0asFdKauF-z5t9XpLAUa"
	"xDi_nCFJqU8zb0IvKO_YzG2S7F2uitdg1ZbXykoouvIujU-_kr6YLRIhxxbH_sc7PQ5eNzwYfkmK6Vx5"
	"xe8V9eKFRZZ2I6MrQ-AqEzhtQXDcyR6ItCEZy1sGOGQekgjhaYqe5RoLjIJGY1ABevGt9Pk0v-XBufjl"
	"IzPA_SJ5dwnEuxbYDJi0w-b9ESMltWO5T7CKRNPSbl8X97Wz1a-djg9pUQN7DqBXEUBlhTa_CU2z_83O"
	"WsGFEJcr3yfOS43dc4UEOck1g7v_m5A6LWKbw";
static const char TOK_ES256[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6ImUxIn0.eyJpc3MiOiJodHRwczovL29wLnRlc3QiLCJhdWQiOiJ0"
	"cmFuc29tIiwic3ViIjoicmVwbzphY21lL3BheW1lbnRzIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3"
	"MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwicmVwb3NpdG9yeSI6ImFjbWUvcGF5bWVudHMifQ.hWWi7"
	"UZcesGDQHp_aHe9Y9EyRwPun1aOo1e1pc8Aj4G8AJHjziIpTcBxBP65zYWtXIagoIrPgpJuKcsleg3k0"
	"A";
static const char TOK_TAMPERED[] =
	"eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwczovL29w"
	"LnRlc3QiLCJhdWQiOiJ0cmFuc29tIiwic3ViIjoieCIsImlhdCI6MTcwMDAwMDAwMCwibmJmIjoxNzAw"
	"MDAwMDAwLCJleHAiOjE3MDAwMDA2MDAsInJlcG9zaXRvcnkiOiJhY21lL3BheW1lbnRzIn0.hoDl4oyk"
	"uN8GkGnGhSuapHJDMJ1t-IicJxE6d1wDJZQOT0asFdKauF-z5t9XpLAUaxDi_nCFJqU8zb0IvKO_YzG2"
	"S7F2uitdg1ZbXykoouvIujU-_kr6YLRIhxxbH_sc7PQ5eNzwYfkmK6Vx5xe8V9eKFRZZ2I6MrQ-AqEzh"
	"tQXDcyR6ItCEZy1sGOGQekgjhaYqe5RoLjIJGY1ABevGt9Pk0v-XBufjlIzPA_SJ5dwnEuxbYDJi0w-b"
	"9ESMltWO5T7CKRNPSbl8X97Wz1a-djg9pUQN7DqBXEUBlhTa_CU2z_83OWsGFEJcr3yfOS43dc4UEOck"
	"1g7v_m5A6LWKbw";
static const char TOK_NONE[] =
	"eyJhbGciOiJub25lIiwia2lkIjoicjEifQ.eyJpc3MiOiJodHRwczovL29wLnRlc3QiLCJhdWQiOiJ0c"
	"mFuc29tIiwic3ViIjoicmVwbzphY21lL3BheW1lbnRzIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3M"
	"DAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwicmVwb3NpdG9yeSI6ImFjbWUvcGF5bWVudHMifQ.";
static const char TOK_HS256_PUB[] =
	"eyJhbGciOiJIUzI1NiIsImtpZCI6InIxIn0.eyJpc3MiOiJodHRwczovL29wLnRlc3QiLCJhdWQiOiJ0"
	"cmFuc29tIiwic3ViIjoicmVwbzphY21lL3BheW1lbnRzIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3"
	"MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwicmVwb3NpdG9yeSI6ImFjbWUvcGF5bWVudHMifQ.8Oob9"
	"fj_uD1Gl206pgrmCd16vXXGxTIHTwSKUKZpU0Q";
static const char TOK_UNKNOWN_KID[] =
	"eyJhbGciOiJSUzI1NiIsImtpZCI6Inp6In0.eyJpc3MiOiJodHRwczovL29wLnRlc3QiLCJhdWQiOiJ0"
	"cmFuc29tIiwic3ViIjoicmVwbzphY21lL3BheW1lbnRzIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3"
	"MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwicmVwb3NpdG9yeSI6ImFjbWUvcGF5bWVudHMifQ.k7knp"
	"gBaJsQTyvZ7_sxF-D14GT2qW2YUqp3aPe72coEe6zpFm3DvU7Rxl-dC2DHAaNQkDWkggneU8nv9bXG8l"
	"ymv2jGe-vnatJSN6TBZMGt5DmweEAxW2Kr1ad8sZaPxbNDwCGWxqNoMKrrNOmOp5oev4lcU2NIDJnv0H"
	"SqJ-v-2doowNxg8nxpJZn2YqC9s4Om57Ekgdd9QvkmhRldGT8vW-PcdiEv-H_2u5Sikw0JiNST44rybK"
	"467A74SJ6vOZbT0wk24qt6qfkXb4BHn6tbx79XnkEZdrOh07gtrAvnEr_w-tBdwgc10otRinXVh_0klf"
	"QgcQZobrwzppG5QSw";
static const char TOK_ES_WITH_RSA_KID[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6InIxIn0.eyJpc3MiOiJodHRwczovL29wLnRlc3QiLCJhdWQiOiJ0"
	"cmFuc29tIiwic3ViIjoicmVwbzphY21lL3BheW1lbnRzIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3"
	"MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwicmVwb3NpdG9yeSI6ImFjbWUvcGF5bWVudHMifQ.aXKMB"
	"e70xJXK-3DyPyDrsCaCDVQiJMjvVsTweAi4jsmr5Z-7hpBnbo3ATEba2rNLz8Zi1YeEUf6Bgaaw1_R0u"
	"A";
static const char TOK_RS_WITH_ENC_KEY[] =
	"eyJhbGciOiJSUzI1NiIsImtpZCI6InJlbmMifQ.eyJpc3MiOiJodHRwczovL29wLnRlc3QiLCJhdWQiO"
	"iJ0cmFuc29tIiwic3ViIjoicmVwbzphY21lL3BheW1lbnRzIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiO"
	"jE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwicmVwb3NpdG9yeSI6ImFjbWUvcGF5bWVudHMifQ.fJ"
	"2XJ4i0meKNKaKM2C_iHiZc-A0PgwrLmODQED7AvU_rM_6AAj3MeywiFiim9o1zZIArXJYUtPF5WigrgE"
	"AlRd3vQoZSHj3WdEsMf6kEeGMcKUw6dkAouWWmO0zli7l2ORcBFo4XzKGgB2UKaPjiL6icUBU8fPdb3c"
	"2mlWZr9FUcHQuvWb1FHau-2WCn2bXaiR8vZyc1bYtjwJhQHr1JWTJ5_IreEPFY1ojYokvCNSpvEjEvju"
	"yEN6zCh1aSncJTB30QKkXwh0KGdMufBzhkqqk12BzWr6zwhXlW_WEY_rjMhXVyBJq6N_fdhydzVoNN6U"
	"kyI3Ze06rAdsmBSyOKGA";
static const char TOK_EDDSA[] =
	"eyJhbGciOiJFZERTQSIsImtpZCI6ImVkMSJ9.eyJpc3MiOiJodHRwczovL29wLnRlc3QiLCJhdWQiOiJ"
	"0cmFuc29tIiwic3ViIjoicmVwbzphY21lL3BheW1lbnRzIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE"
	"3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwicmVwb3NpdG9yeSI6ImFjbWUvcGF5bWVudHMifQ.FXKE"
	"AkmhyuZS_dZBpGDW3ku1QNONlQeUJZz9zFGTmd751V63ga0hc2OpgYHQWQuhDZSy_58m-M9LfY27tB4P"
	"Aw";
